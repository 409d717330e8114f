using System.Text;

namespace UNet.Segmentation.Imaging;

/// <summary>
/// Reads one image from a PNG, JPEG or TIFF file, chosen by the file's first bytes (never by its
/// name), into a <see cref="DecodedImage"/> of exact integer samples: PNG and JPEG through SkiaSharp,
/// TIFF through LibTiff.NET.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item><description>PNG: greyscale at 1, 2, 4 or 8 bits (values as stored: a 1-bit image gives 0 and
/// 1), grey with alpha, RGB and RGBA at 8 bits; alpha is dropped, the colour values are kept as stored
/// (not premultiplied). Palette PNGs give their palette's colours as RGB, not the indices. No colour
/// management: gAMA, cHRM, sRGB and iCCP chunks are ignored, so an 8-bit grey value reads back as
/// stored. 16-bit PNGs are refused: SkiaSharp 2.88 decodes them to 8 bits, losing the low byte.</description></item>
/// <item><description>JPEG: 8-bit greyscale (1 channel) or colour (3 channels, RGB as SkiaSharp's
/// libjpeg-turbo converts YCbCr, or CMYK); no colour management, EXIF orientation not applied. A
/// file cut short (no end-of-image marker) and a declared size its data cannot code (over 512
/// pixels a byte) are refused; damage inside the compressed data is not detectable (JPEG has no
/// checksum, and libjpeg-turbo fills a scan that ends early with grey, which SkiaSharp reports as
/// success).</description></item>
/// <item><description>TIFF: the first page, 8- or 16-bit unsigned, greyscale (WhiteIsZero inverted as
/// <see cref="Tiff.Read(string)"/> does) or RGB, with or without alpha (dropped), strips or tiles,
/// contiguous or planar, uncompressed, PackBits, LZW or Deflate.</description></item>
/// </list>
/// Images over <see cref="MaxPixels"/> pixels are refused before anything is decoded. Every failure
/// is an <see cref="ImageFormatException"/> naming the file (a <see cref="TiffFormatException"/>,
/// naming the page too, for TIFF files).
/// </remarks>
public static class ImageFiles
{
    /// <summary>The most pixels one image may have: 2^28 (16384 × 16384), about 1.6 GB of 16-bit RGB samples.</summary>
    public const long MaxPixels = 1L << 28;

    /// <summary>Reads the image in the file at <paramref name="path"/>.</summary>
    /// <exception cref="ImageFormatException">The file is damaged, in another format, or uses an unsupported feature.</exception>
    public static DecodedImage Read(string path) => Decode(path, ImageBytes.Load(path, TooLarge));

    /// <summary>Reads an image from <paramref name="stream"/> (from its current position to its end).</summary>
    /// <param name="stream">The image file's bytes.</param>
    /// <param name="name">A name for the data, used in error messages.</param>
    /// <exception cref="ImageFormatException">The data is damaged, in another format, or uses an unsupported feature.</exception>
    public static DecodedImage Read(Stream stream, string name) => Decode(name, ImageBytes.Load(stream, name, TooLarge));

    /// <summary>The format whose signature <paramref name="header"/> starts with, or null when it is none of the three.</summary>
    /// <param name="header">The file's first bytes (eight are enough).</param>
    public static ImageFileFormat? Detect(ReadOnlySpan<byte> header)
    {
        if (header.StartsWith(PngSignature)) return ImageFileFormat.Png;
        if (header.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8, 0xFF])) return ImageFileFormat.Jpeg;
        if (header.StartsWith("II"u8) && header.Length >= 4 && header[2] is 42 or 43 && header[3] == 0) return ImageFileFormat.Tiff;
        if (header.StartsWith("MM"u8) && header.Length >= 4 && header[2] == 0 && header[3] is 42 or 43) return ImageFileFormat.Tiff;
        return null;
    }

    internal static ReadOnlySpan<byte> PngSignature => [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    private static DecodedImage Decode(string name, byte[] data) => Detect(data) switch
    {
        ImageFileFormat.Png => SkiaImageReader.ReadPng(name, data),
        ImageFileFormat.Jpeg => SkiaImageReader.ReadJpeg(name, data),
        ImageFileFormat.Tiff => TiffReader.ReadImage(name, data),
        _ => throw new ImageFormatException(name, Unknown(data)),
    };

    private static ImageFormatException TooLarge(string name, long length) =>
        new(name, $"the file is {length} bytes; files over 2 GiB are not supported");

    /// <summary>Says what the first bytes look like: their hex and text, and a known format's name when they match one.</summary>
    private static string Unknown(byte[] data)
    {
        if (data.Length == 0) return "the file is empty";
        var head = data.AsSpan(0, Math.Min(data.Length, 12));
        string hex = Convert.ToHexString(head);
        hex = string.Join(' ', Enumerable.Range(0, head.Length).Select(i => hex.Substring(2 * i, 2)));
        var text = new StringBuilder();
        foreach (byte b in head) text.Append(b is >= 0x20 and < 0x7F ? (char)b : '.');
        string? known = head switch
        {
            _ when head.StartsWith("GIF8"u8) => "a GIF image",
            _ when head.StartsWith("BM"u8) => "a BMP image",
            _ when head.Length >= 12 && head.StartsWith("RIFF"u8) && head[8..12].SequenceEqual("WEBP"u8) => "a WebP image",
            _ when head.StartsWith((ReadOnlySpan<byte>)[0, 0, 0, 0x0C, 0x6A, 0x50, 0x20, 0x20]) => "a JPEG 2000 image",
            _ when head.Length >= 12 && head[4..8].SequenceEqual("ftyp"u8) => "an ISO media file (HEIF, AVIF or video)",
            _ when head.StartsWith("8BPS"u8) => "a Photoshop document",
            _ when head.StartsWith("%PDF"u8) => "a PDF document",
            _ when head.StartsWith((ReadOnlySpan<byte>)[0x89, 0x48, 0x44, 0x46]) => "an HDF5 file",
            _ when head.StartsWith((ReadOnlySpan<byte>)[0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]) => "a NumPy array",
            _ when head.Length >= 2 && head[0] == 'P' && head[1] is >= (byte)'1' and <= (byte)'7' => "a Netpbm image",
            _ when head.StartsWith((ReadOnlySpan<byte>)[0x89, 0x50, 0x4E, 0x47]) => "a PNG whose signature is damaged",
            _ => null,
        };
        return $"not a PNG, JPEG or TIFF file: it starts with {hex} (\"{text}\"){(known is null ? "" : $", which looks like {known}")}";
    }
}
