using SkiaSharp;

namespace UNet.Segmentation.Imaging;

/// <summary>
/// Writes 8-bit PNG images, greyscale or RGB, through SkiaSharp (libpng inside Skia): non-interlaced,
/// every row filtered with the filter libpng's heuristic picks among all five, zlib level 6, no
/// colour profile. Files are written atomically (temporary file, flush, rename).
/// </summary>
public static class Png
{
    /// <summary>Writes an 8-bit greyscale PNG.</summary>
    /// <param name="path">The file to create or replace.</param>
    /// <param name="pixels">height × width samples, row-major.</param>
    /// <param name="width">Columns (at least 1).</param>
    /// <param name="height">Rows (at least 1).</param>
    public static void WriteGray(string path, ReadOnlySpan<byte> pixels, int width, int height)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Save(path, EncodeGray(pixels, width, height));
    }

    /// <summary>The bytes of an 8-bit greyscale PNG file, as <see cref="WriteGray"/> writes it.</summary>
    /// <param name="pixels">height × width samples, row-major.</param>
    /// <param name="width">Columns (at least 1).</param>
    /// <param name="height">Rows (at least 1).</param>
    public static byte[] EncodeGray(ReadOnlySpan<byte> pixels, int width, int height)
    {
        Check(pixels.Length, width, height, channels: 1, nameof(pixels));
        return Encode(pixels, new SKImageInfo(width, height, SKColorType.Gray8, SKAlphaType.Opaque), width);
    }

    /// <summary>Writes an 8-bit RGB PNG.</summary>
    /// <param name="path">The file to create or replace.</param>
    /// <param name="rgb">height × width × 3 samples, row-major, red, green and blue interleaved.</param>
    /// <param name="width">Columns (at least 1).</param>
    /// <param name="height">Rows (at least 1).</param>
    public static void WriteRgb(string path, ReadOnlySpan<byte> rgb, int width, int height)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Save(path, EncodeRgb(rgb, width, height));
    }

    /// <summary>The bytes of an 8-bit RGB PNG file, as <see cref="WriteRgb"/> writes it.</summary>
    /// <param name="rgb">height × width × 3 samples, row-major, red, green and blue interleaved.</param>
    /// <param name="width">Columns (at least 1).</param>
    /// <param name="height">Rows (at least 1).</param>
    public static byte[] EncodeRgb(ReadOnlySpan<byte> rgb, int width, int height)
    {
        Check(rgb.Length, width, height, channels: 3, nameof(rgb));
        // Skia has no 3-byte pixel format: opaque RGBA, which its encoder stores as PNG colour type 2 (RGB).
        var rgba = new byte[(long)width * height * 4];
        for (int i = 0, o = 0; i < rgb.Length; i += 3, o += 4)
        {
            rgba[o] = rgb[i];
            rgba[o + 1] = rgb[i + 1];
            rgba[o + 2] = rgb[i + 2];
            rgba[o + 3] = 255;
        }
        return Encode(rgba, new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque), width * 4);
    }

    private static void Check(int length, int width, int height, int channels, string parameter)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        if ((long)width * height * 4 > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(width), width, $"{width}x{height} is more than 2 GiB of pixels; images that large are not supported");
        long expected = (long)width * height * channels;
        if (length != expected)
            throw new ArgumentException($"{length} samples given; {height}x{width} with {channels} channel(s) needs {expected}", parameter);
    }

    private static unsafe byte[] Encode(ReadOnlySpan<byte> samples, SKImageInfo info, int rowBytes)
    {
        fixed (byte* pointer = samples)
        {
            using var pixmap = new SKPixmap(info, (IntPtr)pointer, rowBytes);
            using var data = pixmap.Encode(new SKPngEncoderOptions(SKPngEncoderFilterFlags.AllFilters, zLibLevel: 6))
                ?? throw new InvalidOperationException($"SkiaSharp could not encode a {info.Width}x{info.Height} {info.ColorType} PNG");
            return data.ToArray();
        }
    }

    private static void Save(string path, byte[] png)
    {
        using var file = AtomicFile.Begin(path);
        file.Stream.Write(png);
        file.Commit();
    }
}
