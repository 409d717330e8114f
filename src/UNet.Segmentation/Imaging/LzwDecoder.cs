namespace UNet.Segmentation.Imaging;

/// <summary>
/// TIFF LZW decoding (TIFF 6.0, section 13): MSB-first codes of 9 to 12 bits with the "early
/// change" of code width, Clear = 256, EndOfInformation = 257. Bounded: it stops when the output
/// is full, and a table that fills up without a Clear code stops growing instead of overflowing.
/// Old-style (LSB-first, pre-TIFF-5.0) LZW is refused.
/// </summary>
internal static class LzwDecoder
{
    private const int ClearCode = 256, EndCode = 257, FirstFree = 258, TableSize = 4096, MaxWidth = 12;

    /// <summary>Decodes until <paramref name="output"/> is full, the data ends or an end code comes; returns the bytes written.</summary>
    public static int Decode(ReadOnlySpan<byte> input, Span<byte> output)
    {
        if (input.Length >= 2 && input[0] == 0 && (input[1] & 1) == 1)
            throw new TiffCodecException("old-style (LSB-first) LZW is not supported");
        Span<short> prefix = stackalloc short[TableSize];
        Span<short> length = stackalloc short[TableSize];
        Span<byte> suffix = stackalloc byte[TableSize];
        Span<byte> first = stackalloc byte[TableSize];
        for (int i = 0; i < 256; i++)
        {
            prefix[i] = -1;
            length[i] = 1;
            suffix[i] = (byte)i;
            first[i] = (byte)i;
        }

        int width = 9, next = FirstFree, previous = -1, written = 0, position = 0, bitCount = 0;
        uint bits = 0;
        while (written < output.Length)
        {
            while (bitCount < width && position < input.Length)
            {
                bits = (bits << 8) | input[position++];
                bitCount += 8;
            }
            if (bitCount < width) break; // the data ended without an end code
            int code = (int)(bits >> (bitCount - width)) & ((1 << width) - 1);
            bitCount -= width;
            if (code == EndCode) break;
            if (code == ClearCode)
            {
                width = 9;
                next = FirstFree;
                previous = -1;
                continue;
            }
            if (previous < 0)
            {
                if (code > 255) throw new TiffCodecException($"LZW code {code} follows a Clear code; only a literal (0-255) may");
                output[written++] = (byte)code;
                previous = code;
                continue;
            }
            if (code > next || (code == next && next >= TableSize))
                throw new TiffCodecException($"invalid LZW code {code}: the table holds only {next} entries");
            if (next < TableSize)
            {
                prefix[next] = (short)previous;
                suffix[next] = code == next ? first[previous] : first[code];
                first[next] = first[previous];
                length[next] = (short)(length[previous] + 1);
                next++;
            }
            written = Emit(code, prefix, suffix, length, output, written);
            previous = code;
            if (next >= (1 << width) - 1 && width < MaxWidth) width++;
        }
        return written;
    }

    /// <summary>Writes the string of <paramref name="code"/> at <paramref name="at"/>, dropping what does not fit.</summary>
    private static int Emit(int code, ReadOnlySpan<short> prefix, ReadOnlySpan<byte> suffix, ReadOnlySpan<short> length, Span<byte> output, int at)
    {
        int count = length[code];
        int position = at + count - 1;
        for (int c = code; c >= 0; c = prefix[c], position--)
        {
            if (position < output.Length) output[position] = suffix[c];
        }
        return Math.Min(at + count, output.Length);
    }
}
