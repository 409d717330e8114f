using SkiaSharp;
using UNet.Segmentation.Imaging;

namespace UNet.Segmentation.Web.Tests.Support;

/// <summary>Images the tests upload: synthetic cell-like slices as PNG, TIFF or JPEG, and an ISBI slice when the data is there.</summary>
internal static class TestImages
{
    /// <summary>An 8-bit grey slice: bright cells with dark borders and noise, from a seed.</summary>
    public static byte[] GreyPixels(int height, int width, int seed = 1)
    {
        var random = new Random(seed);
        var pixels = new byte[height * width];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                double cell = Math.Sin(x / 6.0 + seed) * Math.Cos(y / 7.0);
                pixels[y * width + x] = (byte)Math.Clamp(140 + 90 * cell + random.Next(-20, 21), 0, 255);
            }
        return pixels;
    }

    /// <summary>A grey PNG file of <see cref="GreyPixels"/>.</summary>
    public static byte[] GreyPng(int height, int width, int seed = 1) => Png.EncodeGray(GreyPixels(height, width, seed), width, height);

    /// <summary>An RGB PNG file (the tiny model takes grey images only).</summary>
    public static byte[] RgbPng(int height, int width)
    {
        var grey = GreyPixels(height, width);
        var rgb = new byte[grey.Length * 3];
        for (int i = 0; i < grey.Length; i++) { rgb[3 * i] = grey[i]; rgb[3 * i + 1] = (byte)(255 - grey[i]); rgb[3 * i + 2] = 0; }
        return Png.EncodeRgb(rgb, width, height);
    }

    /// <summary>A one-page 8-bit grey TIFF file of <see cref="GreyPixels"/>.</summary>
    public static byte[] GreyTiff(int height, int width, int seed = 1)
    {
        using var stream = new MemoryStream();
        Tiff.Write(stream, new TiffVolume(1, height, width, GreyPixels(height, width, seed)));
        return stream.ToArray();
    }

    /// <summary>A grey JPEG file of <see cref="GreyPixels"/> (SkiaSharp, quality 90).</summary>
    public static byte[] GreyJpeg(int height, int width)
    {
        var pixels = GreyPixels(height, width);
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Gray8, SKAlphaType.Opaque));
        System.Runtime.InteropServices.Marshal.Copy(pixels, 0, bitmap.GetPixels(), pixels.Length);
        using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, 90);
        return data.ToArray();
    }

    /// <summary>A PNG signature and an IHDR chunk declaring <paramref name="width"/>×<paramref name="height"/> grey pixels, then IEND: a header with no image behind it.</summary>
    public static byte[] PngHeaderOnly(uint width, uint height)
    {
        using var stream = new MemoryStream();
        stream.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(ihdr, width);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8; // bit depth; colour type 0 (grey), no interlace
        Chunk(stream, "IHDR", ihdr);
        Chunk(stream, "IEND", []);
        return stream.ToArray();
    }

    private static void Chunk(Stream stream, string type, byte[] data)
    {
        Span<byte> word = stackalloc byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(word, (uint)data.Length);
        stream.Write(word);
        var typed = System.Text.Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        stream.Write(typed);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(word, Crc32(typed));
        stream.Write(word);
    }

    /// <summary>PNG's CRC-32 (ISO 3309) of a chunk's type and data.</summary>
    private static uint Crc32(ReadOnlySpan<byte> bytes)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in bytes)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? 0xEDB88320 ^ (crc >> 1) : crc >> 1;
        }
        return ~crc;
    }

    /// <summary>The ISBI 2012 data folder from ISBI2012_DIR, or null when it is not set.</summary>
    public static string? IsbiFolder() => Environment.GetEnvironmentVariable("ISBI2012_DIR") is { Length: > 0 } dir ? dir : null;

    /// <summary>Page <paramref name="page"/> of train-volume.tif (512×512, 8-bit) as a grey PNG file.</summary>
    public static byte[] IsbiSlicePng(string folder, int page)
    {
        var volume = Tiff.Read(Path.Combine(folder, "train-volume.tif"));
        return Png.EncodeGray(volume.PageUInt8(page), volume.Width, volume.Height);
    }
}
