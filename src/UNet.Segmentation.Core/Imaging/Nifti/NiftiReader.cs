using System.Buffers.Binary;
using System.IO.Compression;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace UNet.Segmentation.Imaging.Nifti;

/// <summary>
/// Reads single-file NIfTI-1 and NIfTI-2 images, plain or gzipped (recognised by the gzip magic,
/// not the name), in either byte order. Sizes are checked before voxels are allocated: against the
/// bytes left in a plain file, against what the compressed bytes can inflate to for a gzipped one,
/// and for a stream of unknown length the voxels are gathered in pieces as they arrive, so a forged
/// header cannot make the reader allocate more than the data it really holds.
/// </summary>
internal static class NiftiReader
{
    /// <summary>Deflate inflates at most 1032-fold (a 258-byte match coded in 2 bits); one more for the gzip framing.</summary>
    private const long GzipMaxRatio = 1033;

    private const int Chunk = 1 << 20;

    private const int PeekLength = 16;

    /// <summary>BGZF's end-of-file marker, an empty gzip member that ends every complete BGZF file.</summary>
    private static ReadOnlySpan<byte> BgzfEof => [0x1f, 0x8b, 0x08, 0x04, 0, 0, 0, 0, 0, 0xff, 0x06, 0, 0x42, 0x43, 0x02, 0, 0x1b, 0, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0];

    public static (NiftiHeader Header, Array? Data) Read(string path, bool readData)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        return Read(file, path, readData);
    }

    public static (NiftiHeader Header, Array? Data) Read(Stream stream, string name, bool readData)
    {
        long start = stream.CanSeek ? stream.Position : 0;
        long? length = stream.CanSeek ? Math.Max(0, stream.Length - start) : null;
        var peek = new byte[PeekLength];
        int peeked = ReadUpTo(stream, peek);
        var source = new PrefixedStream(peek.AsMemory(0, peeked), stream);
        bool gzipped = peeked >= 2 && peek[0] == 0x1f && peek[1] == 0x8b;
        if (!gzipped) return ReadNifti(source, name, length, gzipped: false, readData, out _);
        try
        {
            using var inflated = new GZipStream(source, CompressionMode.Decompress, leaveOpen: true);
            var result = ReadNifti(inflated, name, length, gzipped: true, readData, out long consumed);
            if (!readData) return result;
            long total = consumed + Drain(inflated);
            if (length is { } compressed) CheckTrailer(stream, start, compressed, total, IsBgzf(peek.AsSpan(0, peeked)), name);
            return result;
        }
        catch (InvalidDataException e)
        {
            throw new NiftiFormatException(name, $"the gzip stream is damaged: {OneLine(e.Message)}", e);
        }
    }

    /// <summary>Reads the header and, when <paramref name="readData"/>, the voxels from <paramref name="s"/>, which holds <paramref name="available"/> bytes when known (compressed ones when <paramref name="gzipped"/>).</summary>
    private static (NiftiHeader, Array?) ReadNifti(Stream s, string name, long? available, bool gzipped, bool readData, out long consumed)
    {
        var header = new byte[NiftiHeader.Nifti2HeaderSize];
        int got = ReadUpTo(s, header.AsSpan(0, 4));
        string content = gzipped ? "the decompressed data" : "the file";
        if (got < 4) throw new NiftiFormatException(name, $"{content} is {got} bytes, too short for a NIfTI header");
        var (version, bigEndian) = NiftiHeaderCodec.Detect(header.AsSpan(0, 4)) ?? throw new NiftiFormatException(name,
            $"not a NIfTI file: sizeof_hdr is {BinaryPrimitives.ReadInt32LittleEndian(header)} (348 for NIfTI-1, 540 for NIfTI-2, in either byte order)");
        int size = NiftiHeaderCodec.Size(version);
        got = ReadUpTo(s, header.AsSpan(4, size - 4));
        if (got < size - 4) throw new NiftiFormatException(name, $"{content} ends after {4 + got} bytes, inside the {size}-byte header");
        var h = NiftiHeaderCodec.Decode(header.AsSpan(0, size), version, bigEndian, name);
        consumed = size;
        if (!readData) return (h, null);

        int voxels = (int)NiftiShape.Check(h.Dim, message => new NiftiFormatException(name, message)).Aggregate(1L, (p, d) => p * d);
        int itemSize = NiftiDataTypes.Size(h.DataType);
        long dataBytes = (long)voxels * itemSize, end = h.VoxOffset + dataBytes;
        long? bound = available is not { } n ? null : !gzipped ? n : n > long.MaxValue / GzipMaxRatio ? long.MaxValue : n * GzipMaxRatio;
        if (end > bound)
        {
            throw new NiftiFormatException(name, gzipped
                ? $"its header places {dataBytes} bytes of voxels at vox_offset {h.VoxOffset}, more than a {available}-byte gzip stream can hold"
                : $"the file is {available} bytes, shorter than the {end} its header needs ({dataBytes} bytes of voxels at vox_offset {h.VoxOffset})");
        }
        long skipped = Skip(s, h.VoxOffset - size);
        if (skipped < h.VoxOffset - size) throw new NiftiFormatException(name, $"{content} ends after {size + skipped} bytes, before vox_offset {h.VoxOffset}");

        Array data;
        long read;
        if (bound is null)
        {
            var pieces = ReadPieces(s, dataBytes, out read);
            data = NiftiDataTypes.Allocate(h.DataType, read < dataBytes ? 0 : voxels);
            long at = 0;
            foreach (var piece in pieces)
            {
                piece.CopyTo(Bytes(data, at, piece.Length));
                at += piece.Length;
            }
        }
        else
        {
            data = NiftiDataTypes.Allocate(h.DataType, voxels);
            read = ReadInto(s, data, 0, dataBytes);
        }
        if (read < dataBytes) throw new NiftiFormatException(name, $"{content} ends after {read} of the {dataBytes} bytes of voxels at vox_offset {h.VoxOffset}");
        if (bigEndian && itemSize > 1) Swap(data, itemSize, dataBytes);
        consumed = end;
        return (h, data);
    }

    /// <summary>The bytes of <paramref name="data"/> from <paramref name="offset"/> on, <paramref name="count"/> of them.</summary>
    private static Span<byte> Bytes(Array data, long offset, int count) =>
        MemoryMarshal.CreateSpan(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(data), (nint)offset), count);

    /// <summary>Fills <paramref name="data"/>'s bytes from <paramref name="from"/> up to <paramref name="to"/>; returns how many arrived.</summary>
    private static long ReadInto(Stream s, Array data, long from, long to)
    {
        for (long at = from; at < to;)
        {
            int want = (int)Math.Min(Chunk, to - at);
            int got = ReadUpTo(s, Bytes(data, at, want));
            at += got;
            if (got < want) return at - from;
        }
        return to - from;
    }

    /// <summary>
    /// For a stream of unknown length: gathers <paramref name="dataBytes"/> bytes in pieces of at
    /// most 1 MiB, so that memory follows what arrives, not what the header claims; the caller
    /// allocates the voxels only once they have all arrived.
    /// </summary>
    private static List<byte[]> ReadPieces(Stream s, long dataBytes, out long total)
    {
        var pieces = new List<byte[]>();
        total = 0;
        while (total < dataBytes)
        {
            var piece = new byte[(int)Math.Min(Chunk, dataBytes - total)];
            int got = ReadUpTo(s, piece);
            total += got;
            if (got < piece.Length) break;
            pieces.Add(piece);
        }
        return pieces;
    }

    private static void Swap(Array data, int itemSize, long dataBytes)
    {
        for (long at = 0; at < dataBytes; at += Chunk)
        {
            var span = Bytes(data, at, (int)Math.Min(Chunk, dataBytes - at));
            switch (itemSize)
            {
                case 2:
                    var u16 = MemoryMarshal.Cast<byte, ushort>(span);
                    BinaryPrimitives.ReverseEndianness(u16, u16);
                    break;
                case 4:
                    var u32 = MemoryMarshal.Cast<byte, uint>(span);
                    BinaryPrimitives.ReverseEndianness(u32, u32);
                    break;
                default:
                    var u64 = MemoryMarshal.Cast<byte, ulong>(span);
                    BinaryPrimitives.ReverseEndianness(u64, u64);
                    break;
            }
        }
    }

    /// <summary>
    /// .NET's GZipStream ends quietly when the compressed bytes stop early, so a file cut inside
    /// its 8-byte trailer would pass: its last four bytes must hold the decompressed size (mod
    /// 2^32), or, for BGZF (several gzip members), be BGZF's end-of-file block.
    /// </summary>
    private static void CheckTrailer(Stream stream, long start, long compressed, long total, bool bgzf, string name)
    {
        var tail = new byte[BgzfEof.Length];
        int count = (int)Math.Min(tail.Length, compressed);
        stream.Seek(start + compressed - count, SeekOrigin.Begin);
        ReadUpTo(stream, tail.AsSpan(0, count));
        if (bgzf)
        {
            if (!tail.AsSpan(0, count).SequenceEqual(BgzfEof))
                throw new NiftiFormatException(name, "the BGZF stream lacks its end-of-file block: the file is truncated");
            return;
        }
        uint size = BinaryPrimitives.ReadUInt32LittleEndian(tail.AsSpan(count - 4));
        if (size != (uint)total)
            throw new NiftiFormatException(name, $"the gzip trailer gives {size} bytes (mod 2^32) but {total} were decompressed: the stream is truncated or holds several gzip members (only BGZF's are supported)");
    }

    /// <summary>True when the first gzip member's header has BGZF's "BC" extra field.</summary>
    private static bool IsBgzf(ReadOnlySpan<byte> head) =>
        head.Length >= 16 && (head[3] & 4) != 0 && head[12] == (byte)'B' && head[13] == (byte)'C';

    private static long Skip(Stream s, long count)
    {
        if (count == 0) return 0;
        var buffer = new byte[(int)Math.Min(count, 1 << 16)];
        long skipped = 0;
        while (skipped < count)
        {
            int got = s.Read(buffer, 0, (int)Math.Min(buffer.Length, count - skipped));
            if (got == 0) break;
            skipped += got;
        }
        return skipped;
    }

    private static long Drain(Stream s)
    {
        var buffer = new byte[1 << 16];
        long total = 0;
        for (int got; (got = s.Read(buffer)) > 0;) total += got;
        return total;
    }

    private static int ReadUpTo(Stream s, Span<byte> buffer) => s.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);

    private static string OneLine(string text) => text.ReplaceLineEndings(" ");

    /// <summary>Bytes already taken from a stream, then the rest of it: lets the reader look at the first bytes of a stream that cannot seek.</summary>
    private sealed class PrefixedStream(ReadOnlyMemory<byte> prefix, Stream rest) : Stream
    {
        private ReadOnlyMemory<byte> _prefix = prefix;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (_prefix.IsEmpty) return rest.Read(buffer);
            int n = Math.Min(buffer.Length, _prefix.Length);
            _prefix.Span[..n].CopyTo(buffer);
            _prefix = _prefix[n..];
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
