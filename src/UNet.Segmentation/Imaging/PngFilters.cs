namespace UNet.Segmentation.Imaging;

/// <summary>PNG's five row filters (RFC 2083, section 6) and the minimum-sum-of-absolute-differences choice among them.</summary>
internal static class PngFilters
{
    private const int FilterCount = 5; // None, Sub, Up, Average, Paeth

    /// <summary>Writes each row as its filter-type byte followed by the filtered bytes.</summary>
    public static void WriteFilteredRows(Stream output, ReadOnlySpan<byte> samples, int rowBytes, int height, int bytesPerPixel)
    {
        var candidates = new byte[FilterCount * (rowBytes + 1)];
        var zeros = new byte[rowBytes];
        for (int y = 0; y < height; y++)
        {
            var row = samples.Slice(y * rowBytes, rowBytes);
            ReadOnlySpan<byte> above = y == 0 ? zeros : samples.Slice((y - 1) * rowBytes, rowBytes);
            int best = 0;
            long bestScore = long.MaxValue;
            for (int filter = 0; filter < FilterCount; filter++)
            {
                var target = candidates.AsSpan(filter * (rowBytes + 1), rowBytes + 1);
                target[0] = (byte)filter;
                long score = Apply(filter, row, above, bytesPerPixel, target[1..]);
                if (score < bestScore)
                {
                    bestScore = score;
                    best = filter;
                }
            }
            output.Write(candidates, best * (rowBytes + 1), rowBytes + 1);
        }
    }

    /// <summary>Filters one row into <paramref name="target"/>; returns the sum of the results read as signed bytes' magnitudes.</summary>
    private static long Apply(int filter, ReadOnlySpan<byte> row, ReadOnlySpan<byte> above, int bpp, Span<byte> target)
    {
        long score = 0;
        for (int i = 0; i < row.Length; i++)
        {
            int left = i >= bpp ? row[i - bpp] : 0, up = above[i], upLeft = i >= bpp ? above[i - bpp] : 0;
            int predicted = filter switch
            {
                0 => 0,
                1 => left,
                2 => up,
                3 => (left + up) >> 1,
                _ => Paeth(left, up, upLeft),
            };
            byte value = (byte)(row[i] - predicted);
            target[i] = value;
            score += Math.Abs((int)(sbyte)value);
        }
        return score;
    }

    /// <summary>The Paeth predictor: whichever of left, up, up-left is closest to left + up − up-left (ties in that order).</summary>
    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c;
        int pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        if (pa <= pb && pa <= pc) return a;
        return pb <= pc ? b : c;
    }
}
