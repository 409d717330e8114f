using System.Buffers.Binary;
using System.Text;
using UNet.Segmentation.Imaging;
using UNet.Segmentation.Web.Problems;

namespace UNet.Segmentation.Web.Limits;

/// <summary>An image's format and size as its header declares them, read before any decoding.</summary>
public readonly record struct ImageHeader(ImageFileFormat Format, long Width, long Height)
{
    /// <summary>Width × height.</summary>
    public long Pixels => Width * Height;
}

/// <summary>
/// Tells what an upload is by its magic bytes (never its file name or content type) and reads the
/// width and height its header declares, so that the pixel limit holds before a decoder allocates
/// anything: PNG (the IHDR chunk), JPEG (the first start-of-frame marker), TIFF and BigTIFF (the
/// first page's ImageWidth and ImageLength tags).
/// </summary>
public static class ImageSniffing
{
    /// <summary>The header of <paramref name="data"/>, which <paramref name="name"/> describes in problems.</summary>
    /// <exception cref="RequestProblemException">415 when the bytes are no PNG, JPEG or TIFF; 400 when the header is cut short or inconsistent.</exception>
    public static ImageHeader Read(ReadOnlySpan<byte> data, string name) => ImageFiles.Detect(data) switch
    {
        ImageFileFormat.Png => Png(data, name),
        ImageFileFormat.Jpeg => Jpeg(data, name),
        ImageFileFormat.Tiff => Tiff(data, name),
        _ => throw new RequestProblemException(ProblemCatalog.NotAnImage(
            $"{name} is not a PNG, JPEG or TIFF image (told by its first bytes, not its name or content type): it starts with {Describe(data)}")),
    };

    /// <summary>Refuses an image of more than <paramref name="maxPixels"/> pixels.</summary>
    /// <exception cref="RequestProblemException">413 naming the declared size.</exception>
    public static void CheckPixels(ImageHeader header, long maxPixels, string name)
    {
        if (header.Pixels > maxPixels)
            throw new RequestProblemException(ProblemCatalog.TooManyPixels(maxPixels,
                $"the {header.Format.ToString().ToUpperInvariant()} header of {name} declares {header.Width}x{header.Height} = {header.Pixels} pixels; at most {maxPixels} are accepted"));
    }

    private static ImageHeader Png(ReadOnlySpan<byte> data, string name)
    {
        // Signature (8), then the first chunk: length (4), type (4), and IHDR's width and height (4 + 4).
        if (data.Length < 24) throw Cut(name, "PNG", data.Length, 24);
        var type = data.Slice(12, 4);
        if (!type.SequenceEqual("IHDR"u8))
            throw Bad(name, $"its first PNG chunk is '{Encoding.ASCII.GetString(type)}', not IHDR");
        return Sized(ImageFileFormat.Png, BinaryPrimitives.ReadUInt32BigEndian(data[16..]), BinaryPrimitives.ReadUInt32BigEndian(data[20..]), name);
    }

    private static ImageHeader Jpeg(ReadOnlySpan<byte> data, string name)
    {
        int at = 2; // after SOI (FF D8)
        while (true)
        {
            while (at < data.Length && data[at] != 0xFF) at++; // bytes between segments: not expected, tolerated as decoders do
            while (at < data.Length && data[at] == 0xFF) at++; // fill bytes
            if (at >= data.Length) throw Bad(name, "its JPEG data ends before a start-of-frame marker gives the image's size");
            byte marker = data[at++];
            if (marker is 0xD8 or 0x01 or (>= 0xD0 and <= 0xD7)) continue; // markers without a length
            if (marker is 0xD9 or 0xDA) throw Bad(name, $"its JPEG {(marker == 0xD9 ? "ends" : "starts its scan")} before a start-of-frame marker gives the image's size");
            if (at + 2 > data.Length) throw Cut(name, "JPEG", data.Length, at + 2);
            int length = BinaryPrimitives.ReadUInt16BigEndian(data[at..]);
            if (length < 2) throw Bad(name, $"its JPEG segment FF{marker:X2} has the impossible length {length}");
            bool frame = marker is >= 0xC0 and <= 0xCF and not (0xC4 or 0xC8 or 0xCC); // SOF0..SOF15, not DHT, JPG, DAC
            if (frame)
            {
                // Length (2), precision (1), height (2), width (2).
                if (at + 7 > data.Length) throw Cut(name, "JPEG", data.Length, at + 7);
                int height = BinaryPrimitives.ReadUInt16BigEndian(data[(at + 3)..]);
                int width = BinaryPrimitives.ReadUInt16BigEndian(data[(at + 5)..]);
                if (height == 0) throw Bad(name, "its JPEG frame leaves the height to a later DNL marker, which is not supported");
                return Sized(ImageFileFormat.Jpeg, (uint)width, (uint)height, name);
            }
            at += length;
        }
    }

    private static ImageHeader Tiff(ReadOnlySpan<byte> data, string name)
    {
        bool little = data[0] == (byte)'I';
        bool big = (little ? BinaryPrimitives.ReadUInt16LittleEndian(data[2..]) : BinaryPrimitives.ReadUInt16BigEndian(data[2..])) == 43;
        int headerLength = big ? 16 : 8;
        if (data.Length < headerLength) throw Cut(name, "TIFF", data.Length, headerLength);
        ulong offset = big ? U(data, little, 8, 8) : U(data, little, 4, 4);
        int countBytes = big ? 8 : 2, entryBytes = big ? 20 : 12, valueAt = big ? 12 : 8;
        if (offset < (ulong)headerLength || offset > (ulong)(data.Length - countBytes))
            throw Bad(name, $"its first TIFF page's directory lies at byte {offset}, outside the {data.Length} bytes sent");
        int directory = (int)offset;
        ulong entries = U(data, little, directory, countBytes);
        ulong? width = null, height = null;
        for (ulong i = 0; i < entries && (width is null || height is null); i++)
        {
            long entry = directory + countBytes + (long)i * entryBytes;
            if (entry + entryBytes > data.Length) throw Cut(name, "TIFF", data.Length, entry + entryBytes);
            int at = (int)entry;
            ushort tag = (ushort)U(data, little, at, 2);
            if (tag is not (256 or 257)) continue;
            ushort type = (ushort)U(data, little, at + 2, 2);
            ulong value = type switch
            {
                3 => U(data, little, at + valueAt, 2),          // SHORT
                4 => U(data, little, at + valueAt, 4),          // LONG
                16 when big => U(data, little, at + valueAt, 8), // LONG8
                _ => throw Bad(name, $"its TIFF tag {(tag == 256 ? "ImageWidth" : "ImageLength")} has type {type}, not an unsigned integer"),
            };
            if (tag == 256) width = value; else height = value;
        }
        if (width is null || height is null) throw Bad(name, $"its first TIFF page has no {(width is null ? "ImageWidth" : "ImageLength")} tag");
        return Sized(ImageFileFormat.Tiff, width.Value, height.Value, name);
    }

    /// <summary>An unsigned integer of 2, 4 or 8 bytes at <paramref name="at"/> in the file's byte order.</summary>
    private static ulong U(ReadOnlySpan<byte> data, bool little, int at, int bytes) => bytes switch
    {
        2 => little ? BinaryPrimitives.ReadUInt16LittleEndian(data[at..]) : BinaryPrimitives.ReadUInt16BigEndian(data[at..]),
        4 => little ? BinaryPrimitives.ReadUInt32LittleEndian(data[at..]) : BinaryPrimitives.ReadUInt32BigEndian(data[at..]),
        _ => little ? BinaryPrimitives.ReadUInt64LittleEndian(data[at..]) : BinaryPrimitives.ReadUInt64BigEndian(data[at..]),
    };

    private static ImageHeader Sized(ImageFileFormat format, ulong width, ulong height, string name)
    {
        if (width == 0 || height == 0 || width > int.MaxValue || height > int.MaxValue)
            throw Bad(name, $"its {format.ToString().ToUpperInvariant()} header declares the impossible size {width}x{height}");
        return new ImageHeader(format, (long)width, (long)height);
    }

    private static RequestProblemException Cut(string name, string format, long have, long need) =>
        Bad(name, $"its {format} header is cut short: {have} bytes sent, the size needs at least {need}");

    private static RequestProblemException Bad(string name, string problem) =>
        new(ProblemCatalog.BadHeader($"{name}: {problem}"));

    /// <summary>Up to 8 first bytes as hex and text: 68 65 6C 6C 6F ("hello").</summary>
    private static string Describe(ReadOnlySpan<byte> data)
    {
        var head = data[..Math.Min(data.Length, 8)];
        var hex = new StringBuilder();
        var text = new StringBuilder();
        foreach (byte b in head)
        {
            if (hex.Length > 0) hex.Append(' ');
            hex.Append(b.ToString("X2"));
            text.Append(b is >= 0x20 and < 0x7F ? (char)b : '.');
        }
        return $"{hex} (\"{text}\")";
    }
}
