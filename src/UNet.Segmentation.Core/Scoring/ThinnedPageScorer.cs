using System.Runtime.InteropServices;

namespace UNet.Segmentation.Scoring;

/// <summary>One page's ground truth in counts: what its thinned scores need, the same at every threshold.</summary>
/// <param name="Start">The page's first pixel in the stack.</param>
/// <param name="Counted">n: the page's pixels with a true segment.</param>
/// <param name="Segments">How many true segments the page has.</param>
/// <param name="SumSquares">Σ a² over the page's true segment sizes a.</param>
/// <param name="SumNLogN">Σ a ln a.</param>
internal readonly record struct PageTruth(int Start, long Counted, int Segments, long SumSquares, double SumNLogN)
{
    /// <summary>Each page's counts, from the stack's true segments (numbered page after page, so each page holds a run of labels).</summary>
    public static PageTruth[] Of(GroundTruthSegments truth)
    {
        var sizes = new long[truth.SegmentCount + 1];
        foreach (int j in truth.Segments) sizes[j]++;
        int pageSize = truth.Height * truth.Width;
        var pages = new PageTruth[truth.Pages];
        for (int page = 0; page < truth.Pages; page++)
        {
            int start = page * pageSize, first = int.MaxValue, last = 0;
            foreach (int j in truth.Segments.AsSpan(start, pageSize))
                if (j > 0) (first, last) = (Math.Min(first, j), Math.Max(last, j));
            long counted = 0, squares = 0;
            double nLogN = 0;
            for (int j = first; j <= last; j++)
            {
                counted += sizes[j];
                squares += sizes[j] * sizes[j];
                nLogN += ChallengeScores.NLogN(sizes[j]);
            }
            pages[page] = new PageTruth(start, counted, last == 0 ? 0 : last - first + 1, squares, nLogN);
        }
        return pages;
    }
}

/// <summary>
/// One page's V_rand and V_info after thinning, as Fiji's <c>RandError</c> and
/// <c>VariationOfInformation</c> score a slice: counted pixels are those with a true segment;
/// a counted pixel on a dam is a segment of its own; both scores are F-scores of a precision and
/// a recall (see <see cref="ThinnedScores"/>). Reuses its table page after page.
/// </summary>
internal sealed class ThinnedPageScorer
{
    private readonly Dictionary<long, long> _table = [];
    private long[] _predictedSizes = [];

    /// <param name="truth">The page's true segments (0 = not counted).</param>
    /// <param name="page">The page's counts; <see cref="PageTruth.Counted"/> at least 1.</param>
    /// <param name="predicted">The thinned prediction's segments (0 = dam).</param>
    /// <param name="predictedCount">The largest label in <paramref name="predicted"/>.</param>
    public (double VRand, double VInfo) Score(ReadOnlySpan<int> truth, PageTruth page, ReadOnlySpan<int> predicted, int predictedCount)
    {
        // n_ij over runs of equal (predicted i, true j) along rows; dams on counted pixels are singletons.
        _table.Clear();
        if (_predictedSizes.Length < predictedCount + 1) _predictedSizes = new long[predictedCount + 1];
        var sizes = _predictedSizes.AsSpan(0, predictedCount + 1);
        sizes.Clear();
        long damPixels = 0, runKey = -1, runLength = 0;
        for (int k = 0; k < truth.Length; k++)
        {
            int j = truth[k];
            if (j == 0) continue;
            int i = predicted[k];
            if (i == 0) { damPixels++; continue; }
            long key = ((long)i << 32) | (uint)j;
            if (key == runKey) { runLength++; continue; }
            if (runLength > 0) Add(runKey, runLength, sizes);
            (runKey, runLength) = (key, 1);
        }
        if (runLength > 0) Add(runKey, runLength, sizes);

        long jointSquares = damPixels, predictedSquares = damPixels;
        double jointNLogN = 0, predictedNLogN = 0; // a singleton's 1 · ln 1 is 0
        long predictedParts = damPixels;
        foreach (long n in _table.Values)
        {
            jointSquares += n * n;
            jointNLogN += ChallengeScores.NLogN(n);
        }
        foreach (long b in sizes)
        {
            if (b == 0) continue; // a segment on true membrane only, or label 0
            predictedSquares += b * b;
            predictedNLogN += ChallengeScores.NLogN(b);
            predictedParts++;
        }

        // Rand: tp = Σ n_ij² + dams, precision tp / Σ b², recall tp / Σ a²; their F-score.
        double vRand = 2.0 * jointSquares / ((double)page.SumSquares + predictedSquares);

        // Information: precision I / H(truth), recall I / H(prediction); Fiji sets the F-score to
        // 0 when either entropy is 0 (one part on that side), and it is 0 in the limit I → 0.
        double vInfo = 0;
        if (page.Segments > 1 && predictedParts > 1)
        {
            double nLogN = ChallengeScores.NLogN(page.Counted);
            double truthEntropy = nLogN - page.SumNLogN, predictedEntropy = nLogN - predictedNLogN; // n H
            double information = truthEntropy + predictedEntropy - (nLogN - jointNLogN);        // n I
            vInfo = Math.Clamp(2 * information / (truthEntropy + predictedEntropy), 0, 1);      // clamp: rounding only
        }
        return (vRand, vInfo);
    }

    private void Add(long key, long length, Span<long> predictedSizes)
    {
        CollectionsMarshal.GetValueRefOrAddDefault(_table, key, out _) += length;
        predictedSizes[(int)(key >> 32)] += length;
    }
}
