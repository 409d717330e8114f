using System.Buffers.Binary;
using System.IO.Compression;
using System.Runtime.InteropServices;

namespace UNet.Segmentation.Imaging;

/// <summary>
/// Turns one strip's or tile's stored bytes into samples: decompression (bounded by the bytes
/// needed), byte order to the machine's, and undoing horizontal differencing (Predictor 2).
/// </summary>
internal static class TiffDecompression
{
    /// <summary>
    /// Decompresses <paramref name="count"/> bytes at <paramref name="offset"/> of <paramref name="data"/>
    /// into <paramref name="output"/>, stopping when it is full; returns the bytes written, which are
    /// fewer than its length when the data ends early. Damaged data throws <see cref="TiffCodecException"/>.
    /// </summary>
    public static int Decompress(TiffCompression compression, byte[] data, int offset, int count, Span<byte> output)
    {
        var input = new ReadOnlySpan<byte>(data, offset, count);
        switch (compression)
        {
            case TiffCompression.None:
                int n = Math.Min(input.Length, output.Length);
                input[..n].CopyTo(output);
                return n;
            case TiffCompression.PackBits:
                return PackBits.Decode(input, output);
            case TiffCompression.Lzw:
                return LzwDecoder.Decode(input, output);
            default:
                return Inflate(data, offset, count, output);
        }
    }

    private static int Inflate(byte[] data, int offset, int count, Span<byte> output)
    {
        try
        {
            using var zlib = new ZLibStream(new MemoryStream(data, offset, count, writable: false), CompressionMode.Decompress);
            int total = 0;
            while (total < output.Length)
            {
                int read = zlib.Read(output[total..]);
                if (read == 0) break;
                total += read;
            }
            return total;
        }
        catch (InvalidDataException e)
        {
            throw new TiffCodecException($"damaged Deflate (zlib) data: {e.Message}");
        }
    }

    /// <summary>Swaps 16- or 32-bit samples in place when the file's byte order is not the machine's.</summary>
    public static void ToMachineOrder(Span<byte> samples, int bytesPerSample, bool fileLittleEndian)
    {
        if (bytesPerSample == 1 || fileLittleEndian == BitConverter.IsLittleEndian) return;
        if (bytesPerSample == 2)
        {
            var values = MemoryMarshal.Cast<byte, ushort>(samples);
            BinaryPrimitives.ReverseEndianness(values, values);
        }
        else
        {
            var values = MemoryMarshal.Cast<byte, uint>(samples);
            BinaryPrimitives.ReverseEndianness(values, values);
        }
    }

    /// <summary>Undoes Predictor 2 in place: each sample of a row becomes the running sum of the row's differences.</summary>
    /// <param name="samples">Whole rows of samples in machine byte order.</param>
    /// <param name="rowSamples">Samples per row.</param>
    /// <param name="bytesPerSample">1, 2 or 4 (32-bit samples are summed as integers, as libtiff does).</param>
    public static void UndoHorizontalDifferencing(Span<byte> samples, int rowSamples, int bytesPerSample)
    {
        switch (bytesPerSample)
        {
            case 1:
                for (int start = 0; start + rowSamples <= samples.Length; start += rowSamples)
                {
                    var row = samples.Slice(start, rowSamples);
                    for (int i = 1; i < row.Length; i++) row[i] += row[i - 1];
                }
                break;
            case 2:
                var words = MemoryMarshal.Cast<byte, ushort>(samples);
                for (int start = 0; start + rowSamples <= words.Length; start += rowSamples)
                {
                    var row = words.Slice(start, rowSamples);
                    for (int i = 1; i < row.Length; i++) row[i] += row[i - 1];
                }
                break;
            default:
                var longs = MemoryMarshal.Cast<byte, uint>(samples);
                for (int start = 0; start + rowSamples <= longs.Length; start += rowSamples)
                {
                    var row = longs.Slice(start, rowSamples);
                    for (int i = 1; i < row.Length; i++) row[i] += row[i - 1];
                }
                break;
        }
    }

    /// <summary>Inverts WhiteIsZero samples in place so that, as with BlackIsZero, larger means brighter.</summary>
    public static void InvertWhiteIsZero(Span<byte> samples, int bytesPerSample)
    {
        if (bytesPerSample == 1)
        {
            for (int i = 0; i < samples.Length; i++) samples[i] = (byte)~samples[i];
        }
        else
        {
            var words = MemoryMarshal.Cast<byte, ushort>(samples);
            for (int i = 0; i < words.Length; i++) words[i] = (ushort)~words[i];
        }
    }
}
