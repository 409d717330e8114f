using System.Runtime.InteropServices;

namespace UNet.Segmentation.Scoring;

/// <summary>Scores thresholds against one ground truth, reusing its buffers.</summary>
internal sealed class ThresholdScorer(GroundTruthSegments truth)
{
    private readonly byte[] _foreground = new byte[truth.Segments.Length];
    private readonly int[] _predicted = new int[truth.Segments.Length];
    private readonly Dictionary<long, long> _table = [];

    public ThresholdScore Score(ReadOnlySpan<float> probabilities, double threshold)
    {
        float t = (float)threshold;
        for (int k = 0; k < probabilities.Length; k++) _foreground[k] = probabilities[k] > t ? (byte)1 : (byte)0;
        int predictedCount = ConnectedComponents.Label(_foreground, truth.Pages, truth.Height, truth.Width, _predicted);

        // The contingency table n_ij of counted pixels in predicted segment i and true segment j,
        // fed one run of equal (i, j) at a time; a_i = Σ_j n_ij. Predicted membrane (i = 0) on a
        // counted pixel is a singleton: counted, not tabled.
        _table.Clear();
        var predictedSizes = new long[predictedCount + 1];
        long singletons = 0, runKey = -1, runLength = 0;
        int[] segments = truth.Segments, predicted = _predicted;
        for (int k = 0; k < segments.Length; k++)
        {
            int j = segments[k];
            if (j == 0) continue;
            int i = predicted[k];
            if (i == 0) { singletons++; continue; }
            long key = ((long)i << 32) | (uint)j;
            if (key == runKey) { runLength++; continue; }
            if (runLength > 0) Add(runKey, runLength, predictedSizes);
            runKey = key;
            runLength = 1;
        }
        if (runLength > 0) Add(runKey, runLength, predictedSizes);

        long jointSquares = singletons, predictedSquares = singletons;
        double jointNLogN = 0, predictedNLogN = 0; // a singleton's 1 · ln 1 is 0
        int predictedSegments = 0;
        foreach (long n in _table.Values)
        {
            jointSquares += n * n;
            jointNLogN += ChallengeScores.NLogN(n);
        }
        for (int i = 1; i <= predictedCount; i++)
        {
            long a = predictedSizes[i];
            if (a == 0) continue; // a predicted segment on true membrane only: not counted
            predictedSquares += a * a;
            predictedNLogN += ChallengeScores.NLogN(a);
            predictedSegments++;
        }

        double vRand = 2.0 * jointSquares / ((double)predictedSquares + truth.SumSquares);

        // With counts, N·H(S) = N ln N − Σ a ln a, N·H(T) = N ln N − Σ b ln b, N·H(S,T) = N ln N − Σ n ln n.
        bool oneSegmentEachSide = truth.SegmentCount == 1 && predictedSegments + singletons == 1;
        double vInfo;
        if (oneSegmentEachSide)
        {
            vInfo = 1; // H(S) + H(T) = 0: both sides are the one segment, the same segmentation
        }
        else
        {
            double nLogN = ChallengeScores.NLogN(truth.Counted);
            double entropies = 2 * nLogN - predictedNLogN - truth.SumNLogN;          // N (H(S) + H(T))
            double information = nLogN - predictedNLogN - truth.SumNLogN + jointNLogN; // N I
            vInfo = Math.Clamp(2 * information / entropies, 0, 1);                  // clamp: rounding only
        }
        return new ThresholdScore(threshold, vRand, vInfo);
    }

    private void Add(long key, long length, long[] predictedSizes)
    {
        CollectionsMarshal.GetValueRefOrAddDefault(_table, key, out _) += length;
        predictedSizes[(int)(key >> 32)] += length;
    }
}
