using System.Buffers.Binary;
using System.IO.Compression;

namespace UNet.Segmentation.Imaging;

/// <summary>
/// Writes a <see cref="TiffVolume"/> as a little-endian classic TIFF: the header, every page's
/// strips (about 64 KiB of samples each), then one IFD per page, chained in page order.
/// </summary>
internal static class TiffWriter
{
    private const int StripTargetBytes = 64 * 1024;

    private sealed record PageStrips(long[] Offsets, long[] Counts);

    public static void Write(Stream stream, TiffVolume volume, TiffCompression compression)
    {
        int rowBytes = volume.Width * volume.BytesPerSample;
        int rowsPerStrip = Math.Clamp(StripTargetBytes / rowBytes, 1, volume.Height);
        int strips = (volume.Height + rowsPerStrip - 1) / rowsPerStrip;
        long start = stream.Position;
        Span<byte> header = [(byte)'I', (byte)'I', 42, 0, 0, 0, 0, 0];
        stream.Write(header);

        var pages = new List<PageStrips>(volume.PageCount);
        var encoded = new GrowableBuffer();
        var lzw = compression == TiffCompression.Lzw ? new LzwEncoder() : null;
        byte[]? swapped = BitConverter.IsLittleEndian ? null : new byte[rowsPerStrip * rowBytes];
        for (int p = 0; p < volume.PageCount; p++)
        {
            var page = volume.PageBytes(p);
            var strip = new PageStrips(new long[strips], new long[strips]);
            for (int s = 0; s < strips; s++)
            {
                int rows = Math.Min(rowsPerStrip, volume.Height - s * rowsPerStrip);
                var raw = page.Slice(s * rowsPerStrip * rowBytes, rows * rowBytes);
                if (swapped is not null) raw = ToLittleEndian(raw, volume.BytesPerSample, swapped);
                strip.Offsets[s] = stream.Position - start;
                WriteStrip(stream, raw, rowBytes, compression, encoded, lzw);
                strip.Counts[s] = stream.Position - start - strip.Offsets[s];
            }
            pages.Add(strip);
        }

        if ((stream.Position - start) % 2 == 1) stream.WriteByte(0); // IFDs start on a word boundary
        long firstIfd = stream.Position - start;
        long ifdOffset = firstIfd;
        for (int p = 0; p < pages.Count; p++)
        {
            var ifd = BuildIfd(volume, p, pages[p], rowsPerStrip, compression, ifdOffset, last: p == pages.Count - 1);
            stream.Write(ifd);
            ifdOffset += ifd.Length;
        }
        if (ifdOffset > uint.MaxValue)
            throw new InvalidOperationException($"the volume needs {ifdOffset} bytes, beyond classic TIFF's 4 GiB; write fewer pages per file");
        long end = stream.Position;
        stream.Position = start + 4;
        Span<byte> first = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(first, (uint)firstIfd);
        stream.Write(first);
        stream.Position = end;
    }

    private static void WriteStrip(Stream stream, ReadOnlySpan<byte> raw, int rowBytes, TiffCompression compression, GrowableBuffer encoded, LzwEncoder? lzw)
    {
        switch (compression)
        {
            case TiffCompression.None:
                stream.Write(raw);
                return;
            case TiffCompression.Deflate:
                using (var zlib = new ZLibStream(stream, CompressionLevel.Optimal, leaveOpen: true)) zlib.Write(raw);
                return;
            case TiffCompression.PackBits:
                encoded.Clear();
                for (int r = 0; r < raw.Length; r += rowBytes) PackBits.EncodeRow(raw.Slice(r, rowBytes), encoded);
                stream.Write(encoded.Written);
                return;
            default:
                encoded.Clear();
                lzw!.Encode(raw, encoded);
                stream.Write(encoded.Written);
                return;
        }
    }

    private static byte[] BuildIfd(TiffVolume volume, int page, PageStrips strips, int rowsPerStrip, TiffCompression compression, long at, bool last)
    {
        bool multiPage = volume.PageCount > 1;
        var entries = new List<(ushort Tag, ushort Type, long[] Values)>
        {
            (TiffTags.NewSubfileType, TiffFieldType.Long, [multiPage ? 2 : 0]), // 2: one page of a multi-page image
            (TiffTags.ImageWidth, TiffFieldType.Long, [volume.Width]),
            (TiffTags.ImageLength, TiffFieldType.Long, [volume.Height]),
            (TiffTags.BitsPerSample, TiffFieldType.Short, [volume.BytesPerSample * 8]),
            (TiffTags.Compression, TiffFieldType.Short, [TiffCompressionCodes.Code(compression)]),
            (TiffTags.PhotometricInterpretation, TiffFieldType.Short, [1]),
            (TiffTags.StripOffsets, TiffFieldType.Long, strips.Offsets),
            (TiffTags.SamplesPerPixel, TiffFieldType.Short, [1]),
            (TiffTags.RowsPerStrip, TiffFieldType.Long, [rowsPerStrip]),
            (TiffTags.StripByteCounts, TiffFieldType.Long, strips.Counts),
            (TiffTags.PlanarConfiguration, TiffFieldType.Short, [1]),
        };
        if (multiPage && volume.PageCount <= ushort.MaxValue)
            entries.Add((TiffTags.PageNumber, TiffFieldType.Short, [page, volume.PageCount]));
        entries.Add((TiffTags.SampleFormat, TiffFieldType.Short, [volume.SampleFormat == TiffSampleFormat.Float32 ? 3 : 1]));

        int directoryBytes = 2 + 12 * entries.Count + 4;
        int extraBytes = entries.Sum(e => ValueBytes(e.Type, e.Values.Length) is var n && n > 4 ? n : 0);
        var ifd = new byte[directoryBytes + extraBytes];
        var span = ifd.AsSpan();
        BinaryPrimitives.WriteUInt16LittleEndian(span, (ushort)entries.Count);
        int extra = directoryBytes;
        for (int i = 0; i < entries.Count; i++)
        {
            var (tag, type, values) = entries[i];
            var entry = span.Slice(2 + 12 * i, 12);
            BinaryPrimitives.WriteUInt16LittleEndian(entry, tag);
            BinaryPrimitives.WriteUInt16LittleEndian(entry[2..], type);
            BinaryPrimitives.WriteUInt32LittleEndian(entry[4..], (uint)values.Length);
            int size = ValueBytes(type, values.Length);
            var target = entry[8..];
            if (size > 4)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(target, Offset(at + extra));
                target = span.Slice(extra, size);
                extra += size;
            }
            for (int v = 0; v < values.Length; v++)
            {
                if (type == TiffFieldType.Short) BinaryPrimitives.WriteUInt16LittleEndian(target[(2 * v)..], (ushort)values[v]);
                else BinaryPrimitives.WriteUInt32LittleEndian(target[(4 * v)..], Offset(values[v]));
            }
        }
        BinaryPrimitives.WriteUInt32LittleEndian(span[(directoryBytes - 4)..], last ? 0 : Offset(at + ifd.Length));
        return ifd;
    }

    private static int ValueBytes(ushort type, int count) => (type == TiffFieldType.Short ? 2 : 4) * count;

    private static uint Offset(long value) => value <= uint.MaxValue
        ? (uint)value
        : throw new InvalidOperationException($"offset {value} is beyond classic TIFF's 4 GiB; write fewer pages per file");

    private static ReadOnlySpan<byte> ToLittleEndian(ReadOnlySpan<byte> raw, int bytesPerSample, byte[] scratch)
    {
        var copy = scratch.AsSpan(0, raw.Length);
        raw.CopyTo(copy);
        TiffDecompression.ToMachineOrder(copy, bytesPerSample, fileLittleEndian: false); // a swap on big-endian machines
        return copy;
    }
}
