using System.Buffers.Binary;
using System.IO.Compression;

namespace UNet.Segmentation.Imaging;

/// <summary>
/// Writes 8-bit PNG images (RFC 2083): greyscale or RGB, non-interlaced, each row filtered with the
/// filter that minimises the sum of absolute differences (the specification's recommended
/// heuristic), zlib-compressed. Files are written atomically (temporary file, flush, rename).
/// </summary>
public static class Png
{
    private static ReadOnlySpan<byte> Signature => [137, 80, 78, 71, 13, 10, 26, 10];

    /// <summary>Writes an 8-bit greyscale PNG.</summary>
    /// <param name="path">The file to create or replace.</param>
    /// <param name="pixels">height × width samples, row-major.</param>
    /// <param name="width">Columns (at least 1).</param>
    /// <param name="height">Rows (at least 1).</param>
    public static void WriteGray(string path, ReadOnlySpan<byte> pixels, int width, int height) =>
        Write(path, pixels, width, height, channels: 1);

    /// <summary>Writes an 8-bit RGB PNG.</summary>
    /// <param name="path">The file to create or replace.</param>
    /// <param name="rgb">height × width × 3 samples, row-major, red, green and blue interleaved.</param>
    /// <param name="width">Columns (at least 1).</param>
    /// <param name="height">Rows (at least 1).</param>
    public static void WriteRgb(string path, ReadOnlySpan<byte> rgb, int width, int height) =>
        Write(path, rgb, width, height, channels: 3);

    private static void Write(string path, ReadOnlySpan<byte> samples, int width, int height, int channels)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        long rowBytes = (long)width * channels;
        if (rowBytes + 1 > int.MaxValue) throw new ArgumentOutOfRangeException(nameof(width), width, "rows over 2 GiB are not supported");
        if (samples.Length != rowBytes * height)
            throw new ArgumentException($"{samples.Length} samples given; {height}x{width} with {channels} channel(s) needs {rowBytes * height}", channels == 1 ? "pixels" : "rgb");

        using var file = AtomicFile.Begin(path);
        var stream = file.Stream;
        stream.Write(Signature);
        Span<byte> header = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header[4..], height);
        header[8] = 8;                           // bit depth
        header[9] = channels == 1 ? (byte)0 : (byte)2; // colour type: greyscale or truecolour
        header[10] = header[11] = header[12] = 0; // deflate, adaptive filtering, no interlace
        WriteChunk(stream, "IHDR"u8, header);

        var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
            PngFilters.WriteFilteredRows(zlib, samples, (int)rowBytes, height, channels);
        var idat = compressed.GetBuffer().AsSpan(0, (int)compressed.Length);
        const int ChunkLimit = 1 << 20;
        for (int at = 0; at < idat.Length; at += ChunkLimit)
            WriteChunk(stream, "IDAT"u8, idat.Slice(at, Math.Min(ChunkLimit, idat.Length - at)));
        WriteChunk(stream, "IEND"u8, []);
        file.Commit();
    }

    private static void WriteChunk(Stream stream, ReadOnlySpan<byte> type, ReadOnlySpan<byte> data)
    {
        Span<byte> field = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(field, data.Length);
        stream.Write(field);
        stream.Write(type);
        stream.Write(data);
        BinaryPrimitives.WriteUInt32BigEndian(field, Crc32.Finish(Crc32.Update(Crc32.Update(Crc32.Start, type), data)));
        stream.Write(field);
    }
}
