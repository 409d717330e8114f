using System.Globalization;

namespace UNet.Segmentation.Scoring;

/// <summary>The ground truth's segments and their sums, the same for every threshold.</summary>
internal sealed class GroundTruthSegments
{
    public required int Pages { get; init; }
    public required int Height { get; init; }
    public required int Width { get; init; }
    /// <summary>Per pixel: its true segment (1-based, distinct across pages), or 0 where not counted.</summary>
    public required int[] Segments { get; init; }
    /// <summary>N.</summary>
    public required long Counted { get; init; }
    /// <summary>How many true segments there are.</summary>
    public required int SegmentCount { get; init; }
    /// <summary>Σ_j b_j² over the true segments' sizes b_j.</summary>
    public required long SumSquares { get; init; }
    /// <summary>Σ_j b_j ln b_j.</summary>
    public required double SumNLogN { get; init; }

    public static GroundTruthSegments Prepare(ReadOnlySpan<float> probabilities, ReadOnlySpan<byte> labels, int pages, int height, int width)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pages, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        long expected = (long)pages * height * width;
        if (probabilities.Length != expected)
            throw new ArgumentException($"{probabilities.Length} probabilities for {pages} page(s) of {height}x{width}, which need {expected}", nameof(probabilities));
        if (labels.Length != expected)
            throw new ArgumentException($"{labels.Length} labels for {pages} page(s) of {height}x{width}, which need {expected}", nameof(labels));
        for (int k = 0; k < probabilities.Length; k++)
        {
            float v = probabilities[k];
            if (v >= 0 && v <= 1) continue;
            int pageSize = height * width;
            string where = string.Create(CultureInfo.InvariantCulture, $"at page {k / pageSize}, row {k % pageSize / width}, column {k % width}");
            throw new ArgumentException(float.IsNaN(v)
                ? $"a probability is NaN {where}"
                : string.Create(CultureInfo.InvariantCulture, $"a probability is {v}, outside [0, 1], {where}"), nameof(probabilities));
        }

        var foreground = new byte[labels.Length];
        for (int k = 0; k < labels.Length; k++) foreground[k] = labels[k] > 127 ? (byte)1 : (byte)0;
        var segments = new int[labels.Length];
        int count = ConnectedComponents.Label(foreground, pages, height, width, segments);
        if (count == 0)
            throw new ArgumentException("no label is above 127: the labels have no interior pixels, and only those count", nameof(labels));
        var sizes = new long[count + 1];
        foreach (int j in segments) sizes[j]++;
        long sumSquares = 0;
        double sumNLogN = 0;
        for (int j = 1; j <= count; j++)
        {
            sumSquares += sizes[j] * sizes[j];
            sumNLogN += ChallengeScores.NLogN(sizes[j]);
        }
        return new GroundTruthSegments
        {
            Pages = pages, Height = height, Width = width, Segments = segments,
            Counted = labels.Length - sizes[0], SegmentCount = count, SumSquares = sumSquares, SumNLogN = sumNLogN,
        };
    }
}
