namespace UNet.Segmentation.Imaging;

/// <summary>PackBits run-length coding (TIFF 6.0, section 9), bounded by the output's length.</summary>
internal static class PackBits
{
    /// <summary>Decodes until <paramref name="output"/> is full or the input ends; returns the bytes written.</summary>
    public static int Decode(ReadOnlySpan<byte> input, Span<byte> output)
    {
        int i = 0, o = 0;
        while (o < output.Length && i < input.Length)
        {
            int header = (sbyte)input[i++];
            if (header >= 0)
            {
                int length = header + 1;
                if (length > input.Length - i)
                    throw new TiffCodecException($"a PackBits literal run of {length} bytes runs past the end of the data");
                int take = Math.Min(length, output.Length - o);
                input.Slice(i, take).CopyTo(output[o..]);
                i += length;
                o += take;
            }
            else if (header != -128)
            {
                if (i >= input.Length) throw new TiffCodecException("a PackBits repeat run has no byte to repeat");
                int take = Math.Min(1 - header, output.Length - o);
                output.Slice(o, take).Fill(input[i++]);
                o += take;
            }
        }
        return o;
    }

    /// <summary>Appends the PackBits coding of one row to <paramref name="output"/>: runs of 3 or more repeat, the rest as literals.</summary>
    public static void EncodeRow(ReadOnlySpan<byte> row, GrowableBuffer output)
    {
        int i = 0;
        while (i < row.Length)
        {
            int run = 1;
            while (i + run < row.Length && run < 128 && row[i + run] == row[i]) run++;
            if (run >= 3)
            {
                var span = output.Reserve(2);
                span[0] = (byte)(sbyte)(1 - run);
                span[1] = row[i];
                i += run;
                continue;
            }
            int start = i;
            while (i < row.Length && i - start < 128)
            {
                if (i + 2 < row.Length && row[i] == row[i + 1] && row[i] == row[i + 2]) break;
                i++;
            }
            var literal = output.Reserve(1 + i - start);
            literal[0] = (byte)(i - start - 1);
            row[start..i].CopyTo(literal[1..]);
        }
    }
}
