using System.Buffers.Binary;
using SkiaSharp;

namespace UNet.Segmentation.Imaging;

/// <summary>
/// Decodes PNG and JPEG files through SkiaSharp into exact samples. The PNG header is checked here
/// first (Skia is native code: what reaches it has a well-formed, plausible header), sizes are
/// bounded before any pixel memory is taken, and Skia decodes into a buffer of a plain pixel format
/// with no colour space, so that no colour conversion or gamma is applied.
/// </summary>
internal static class SkiaImageReader
{
    /// <summary>The most bytes one byte of Deflate data can inflate to (RFC 1951: 258 bytes per 2-bit code, about 1032:1).</summary>
    private const long DeflateRatio = 1032;

    public static DecodedImage ReadPng(string name, byte[] data)
    {
        ImageFormatException Fail(string problem) => new(name, $"PNG: {problem}");
        if (data.Length < 33) throw Fail($"the file is {data.Length} bytes, too short for a PNG's signature and header");
        if (BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(8)) != 13 || !data.AsSpan(12, 4).SequenceEqual("IHDR"u8))
            throw Fail("the first chunk is not a 13-byte IHDR header");
        uint width = BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(16)), height = BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(20));
        int depth = data[24], colourType = data[25];
        if (width is 0 or > int.MaxValue || height is 0 or > int.MaxValue) throw Fail($"the header declares {width}x{height} pixels");
        int samples = colourType switch { 0 => 1, 2 => 3, 3 => 1, 4 => 2, 6 => 4, _ => 0 };
        bool depthAllowed = colourType switch
        {
            0 => depth is 1 or 2 or 4 or 8 or 16,
            3 => depth is 1 or 2 or 4 or 8,
            2 or 4 or 6 => depth is 8 or 16,
            _ => false,
        };
        if (!depthAllowed) throw Fail($"the header declares colour type {colourType} at bit depth {depth}, which PNG does not allow");
        if (data[26] != 0 || data[27] != 0 || data[28] > 1)
            throw Fail($"the header declares compression {data[26]}, filter method {data[27]}, interlace {data[28]}; PNG knows 0, 0 and 0 or 1");
        // libpng stops at the end of the image data and never looks for what follows, so a file cut
        // in its last bytes would read; the end chunk (length 0, "IEND", its CRC) must be there.
        if (data.AsSpan(33).IndexOf((ReadOnlySpan<byte>)[0, 0, 0, 0, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82]) < 0)
            throw Fail("the file has no IEND chunk: it is truncated");
        if (depth == 16)
            throw Fail("16-bit PNGs are not supported: SkiaSharp 2.88 decodes them to 8 bits, which would lose the low byte of every sample; store 16-bit images as TIFF");
        long pixels = (long)width * height;
        if (pixels > ImageFiles.MaxPixels) throw Fail($"the image is {width}x{height}, more than the {ImageFiles.MaxPixels} pixels ImageFiles reads");
        long filtered = ((width * (long)samples * depth + 7) / 8 + 1) * height;
        if (filtered > data.Length * DeflateRatio + 1024)
            throw Fail($"the header declares {width}x{height} pixels, {filtered} bytes of image data, more than a {data.Length}-byte file can inflate to; the size is forged or the file truncated");

        bool grey = colourType is 0 or 4;
        return Decode(name, data, "PNG", (int)width, (int)height, grey, depth < 8 && colourType == 0 ? depth : 8, ImageFileFormat.Png);
    }

    /// <summary>
    /// The most pixels one byte of a Huffman-coded JPEG can carry: every 8×8 block of the
    /// full-resolution component codes its DC value in at least one bit, in sequential and
    /// progressive files alike, so a file of n bytes holds at most 8n blocks, 512n pixels.
    /// </summary>
    private const long JpegPixelsPerByte = 512;

    public static DecodedImage ReadJpeg(string name, byte[] data)
    {
        ImageFormatException Fail(string problem) => new(name, $"JPEG: {problem}");
        // libjpeg-turbo fills what is missing with grey and only warns, and SkiaSharp reports that
        // as success: a file cut short must be recognised here, by its missing end-of-image marker
        // (FF D9 cannot occur inside entropy-coded data, where every FF byte is followed by 00 or a
        // restart marker).
        int scan = FirstScan(data);
        if (scan < 0) throw Fail("no start-of-scan segment: the file is truncated or damaged");
        if (data.AsSpan(scan).IndexOf((ReadOnlySpan<byte>)[0xFF, 0xD9]) < 0)
            throw Fail("no end-of-image marker after the image data: the file is truncated");
        return Decode(name, data, "JPEG", width: 0, height: 0, grey: null, bits: 8, ImageFileFormat.Jpeg);
    }

    /// <summary>Where the first scan's data begins (after its SOS segment), walking the marker segments; -1 when there is none.</summary>
    private static int FirstScan(byte[] data)
    {
        int at = 2;
        while (at + 4 <= data.Length)
        {
            if (data[at] != 0xFF) return -1;
            byte marker = data[at + 1];
            if (marker == 0xFF) { at++; continue; } // fill byte
            if (marker is 0xD8 or (>= 0xD0 and <= 0xD7) or 0x01) { at += 2; continue; } // no length
            int length = BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(at + 2));
            if (length < 2) return -1;
            at += 2 + length;
            if (marker == 0xDA) return at <= data.Length ? at : -1;
        }
        return -1;
    }

    /// <summary>
    /// Lets Skia decode, into grey (one byte a pixel) or RGBA (four), and keeps the wanted channels.
    /// <paramref name="grey"/> null: as the codec reports (JPEG); a width of 0: as the codec reports.
    /// </summary>
    private static unsafe DecodedImage Decode(string name, byte[] data, string kind, int width, int height, bool? grey, int bits, ImageFileFormat format)
    {
        ImageFormatException Fail(string problem, Exception? inner = null) => new(name, $"{kind}: {problem}", inner);
        try
        {
            using var skData = SKData.CreateCopy(data);
            using var codec = SKCodec.Create(skData) ?? throw Fail("SkiaSharp could not read the header; the file is damaged");
            var info = codec.Info;
            if (width == 0)
            {
                (width, height) = (info.Width, info.Height);
                if (width < 1 || height < 1) throw Fail($"the header declares {width}x{height} pixels");
                if ((long)width * height > ImageFiles.MaxPixels)
                    throw Fail($"the image is {width}x{height}, more than the {ImageFiles.MaxPixels} pixels ImageFiles reads");
                if ((long)width * height > data.Length * JpegPixelsPerByte + 4096)
                    throw Fail($"the header declares {width}x{height} pixels, more than {data.Length} bytes of JPEG data can code (at most {JpegPixelsPerByte} pixels a byte); the size is forged or the file truncated");
            }
            else if (info.Width != width || info.Height != height)
            {
                throw Fail($"SkiaSharp reads {info.Width}x{info.Height} where the header declares {width}x{height}");
            }
            bool isGrey = grey ?? info.ColorType == SKColorType.Gray8;
            bool opaque = info.AlphaType == SKAlphaType.Opaque;
            bool direct = isGrey && opaque; // grey without transparency: straight to one byte a pixel
            var target = new SKImageInfo(width, height, direct ? SKColorType.Gray8 : SKColorType.Rgba8888, opaque ? SKAlphaType.Opaque : SKAlphaType.Unpremul);
            var pixels = GC.AllocateUninitializedArray<byte>(checked((int)target.BytesSize64));
            SKCodecResult result;
            fixed (byte* pointer = pixels)
                result = codec.GetPixels(target, (IntPtr)pointer);
            if (result != SKCodecResult.Success)
                throw Fail(result == SKCodecResult.IncompleteInput
                    ? "the image data is truncated or damaged (SkiaSharp decoded only part of it)"
                    : $"SkiaSharp could not decode the image ({result})");

            int channels = isGrey ? 1 : 3, stride = direct ? 1 : 4;
            long count = (long)width * height;
            var samples = new ushort[count * channels];
            int scale = bits < 8 ? 255 / ((1 << bits) - 1) : 1; // Skia widens 1, 2 and 4 bits to 0..255
            for (long p = 0; p < count; p++)
                for (int c = 0; c < channels; c++)
                {
                    int value = pixels[p * stride + c];
                    if (scale > 1)
                    {
                        if (value % scale != 0) throw Fail($"SkiaSharp gave {value} for a {bits}-bit sample, not a multiple of {scale}");
                        value /= scale;
                    }
                    samples[p * channels + c] = (ushort)value;
                }
            return new DecodedImage(width, height, channels, bits, samples, format);
        }
        catch (ImageFormatException)
        {
            throw;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw Fail($"SkiaSharp failed on the data ({e.GetType().Name}: {e.Message})", e);
        }
    }
}
