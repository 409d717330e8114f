using System.Globalization;
using System.Runtime.InteropServices;
using UNet.Segmentation.Imaging;

namespace UNet.Segmentation.Scoring;

/// <summary>The ISBI 2012 challenge's two scores of a probability map at one threshold.</summary>
/// <param name="Threshold">The threshold t: a pixel is predicted non-membrane where its probability is greater than t.</param>
/// <param name="VRand">The foreground-restricted Rand score V_rand, in [0, 1]; 1 = the same segments as the ground truth.</param>
/// <param name="VInfo">The foreground-restricted information-theoretic score V_info, in [0, 1]; 1 = the same segments.</param>
public sealed record ThresholdScore(double Threshold, double VRand, double VInfo);

/// <summary>
/// The ISBI 2012 challenge's scores of a probability map against a label stack
/// (<see cref="ChallengeScores.Compute(ReadOnlySpan{float}, ReadOnlySpan{byte}, int, int, int)"/>): the best
/// V_rand and the best V_info over the thresholds 0.1, 0.2, …, 0.9, each at its own best threshold
/// as the challenge ranked entries, and both at 0.5.
/// </summary>
/// <param name="VRand">The best V_rand over <see cref="ChallengeScores.Thresholds"/>.</param>
/// <param name="VInfo">The best V_info over <see cref="ChallengeScores.Thresholds"/>.</param>
/// <param name="VRandAt05">V_rand at threshold 0.5.</param>
/// <param name="VInfoAt05">V_info at threshold 0.5.</param>
/// <param name="BestRandThreshold">The threshold of <see cref="VRand"/> (the lowest of equal best scores).</param>
/// <param name="BestInfoThreshold">The threshold of <see cref="VInfo"/> (the lowest of equal best scores).</param>
/// <param name="PerThreshold">Both scores at every threshold, in increasing order of threshold.</param>
/// <param name="CountedPixels">N: the pixels that count, those with a ground-truth segment (label &gt; 127), over all pages.</param>
public sealed record ChallengeScoreReport(
    double VRand,
    double VInfo,
    double VRandAt05,
    double VInfoAt05,
    double BestRandThreshold,
    double BestInfoThreshold,
    IReadOnlyList<ThresholdScore> PerThreshold,
    long CountedPixels)
{
    /// <summary>One line: the best scores with their thresholds, and both at 0.5.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"V_rand {VRand:F4} (t {BestRandThreshold:0.0}) | V_info {VInfo:F4} (t {BestInfoThreshold:0.0}) | at t 0.5: V_rand {VRandAt05:F4}, V_info {VInfoAt05:F4} ({CountedPixels} pixels)");
}

/// <summary>
/// The scores the ISBI 2012 EM segmentation challenge ranked entries by (Arganda-Carreras et al.,
/// "Crowdsourcing the creation of image segmentation algorithms for connectomics", Front.
/// Neuroanat. 2015): the foreground-restricted Rand score V_rand and information-theoretic score
/// V_info of the segments a thresholded probability map makes, against the segments of the labels.
/// </summary>
/// <remarks>
/// <para>From a probability map P (1 = non-membrane certain, the submission format) and labels L
/// (0 = membrane, 255 = interior), page by page:</para>
/// <list type="bullet">
/// <item>ground-truth segments: the 4-connected components of L &gt; 127 in each page;</item>
/// <item>predicted segments at threshold t: the 4-connected components of P &gt; t in each page
/// (compared in single precision, t rounded to the nearest float32, as NumPy compares a float32
/// map with a Python float);</item>
/// <item>only pixels with a ground-truth segment count; N is their number over all pages; segments
/// of different pages are different segments (the stack is pooled, not averaged per page); every
/// counted pixel predicted membrane (P ≤ t) is a segment of its own, a singleton;</item>
/// <item>p_ij = (counted pixels in predicted segment i and true segment j) / N,
/// s_i = Σ_j p_ij, t_j = Σ_i p_ij;</item>
/// <item>V_rand = 2 Σ p_ij² / (Σ s_i² + Σ t_j²);</item>
/// <item>V_info = 2 I / (H(S) + H(T)), with H(S) = −Σ s_i ln s_i, H(T) = −Σ t_j ln t_j,
/// H(S,T) = −Σ p_ij ln p_ij, I = H(S) + H(T) − H(S,T), and 0 · ln 0 = 0.</item>
/// </list>
/// <para>H(S) + H(T) is 0 only when the counted pixels form one segment on both sides, so that
/// the two segmentations are the same; V_info is then 1 (V_rand is 1 there by its formula).</para>
/// <para>Cost: one labelling of the ground truth, then per threshold one labelling of the
/// prediction and one pass over the pixels that builds the contingency table of
/// (predicted, true) segment pairs, counting runs of equal pairs along rows so that the table is
/// touched once per run, not per pixel. Singletons need no table entries: each adds 1 to Σ n_ij²
/// and Σ a_i² and 0 to the n ln n sums (counts n_ij = N p_ij, a_i = N s_i). All sums are exact
/// integers or doubles; the six ISBI validation slices of a fold (512×512) take well under a
/// second for the nine thresholds.</para>
/// </remarks>
public static class ChallengeScores
{
    /// <summary>The thresholds the challenge's scores are taken over: 0.1, 0.2, …, 0.9 (each the double nearest k/10).</summary>
    public static IReadOnlyList<double> Thresholds { get; } = Array.AsReadOnly(Enumerable.Range(1, 9).Select(k => k / 10.0).ToArray());

    /// <summary>
    /// Both scores at every threshold of <see cref="Thresholds"/>, the best of each and both at 0.5.
    /// </summary>
    /// <param name="probabilities">P: pages × height × width probabilities of non-membrane in [0, 1], page-major then row-major.</param>
    /// <param name="labels">L: pages × height × width labels; a pixel is interior (counted) where L &gt; 127.</param>
    /// <param name="pages">Number of pages (at least 1).</param>
    /// <param name="height">Rows per page (at least 1).</param>
    /// <param name="width">Columns per page (at least 1).</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is below 1.</exception>
    /// <exception cref="ArgumentException">A span's length does not match the size, a probability is NaN or outside [0, 1],
    /// or no label is above 127 (nothing to count); the exception names the argument.</exception>
    public static ChallengeScoreReport Compute(ReadOnlySpan<float> probabilities, ReadOnlySpan<byte> labels, int pages, int height, int width)
    {
        var truth = GroundTruth.Prepare(probabilities, labels, pages, height, width);
        var scorer = new Scorer(truth);
        var scores = new ThresholdScore[Thresholds.Count];
        for (int k = 0; k < scores.Length; k++) scores[k] = scorer.Score(probabilities, Thresholds[k]);

        ThresholdScore bestRand = scores[0], bestInfo = scores[0], atHalf = scores[0];
        foreach (var s in scores)
        {
            if (s.VRand > bestRand.VRand) bestRand = s;
            if (s.VInfo > bestInfo.VInfo) bestInfo = s;
            if (s.Threshold == 0.5) atHalf = s;
        }
        return new ChallengeScoreReport(bestRand.VRand, bestInfo.VInfo, atHalf.VRand, atHalf.VInfo,
            bestRand.Threshold, bestInfo.Threshold, Array.AsReadOnly(scores), truth.Counted);
    }

    /// <summary>
    /// The scores of a float32 probability volume against an 8-bit label volume of the same page
    /// count and size (what <see cref="Tiff.Read(string)"/> gives for a prediction TIFF and the
    /// ISBI <c>train-labels.tif</c>).
    /// </summary>
    /// <param name="prediction">Float32 probabilities of non-membrane in [0, 1].</param>
    /// <param name="labels">8-bit labels; interior where &gt; 127.</param>
    /// <exception cref="ArgumentException">A volume has the wrong sample format, the page counts or sizes differ, or
    /// the values are refused as by <see cref="Compute(ReadOnlySpan{float}, ReadOnlySpan{byte}, int, int, int)"/>.</exception>
    public static ChallengeScoreReport Compute(TiffVolume prediction, TiffVolume labels)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        ArgumentNullException.ThrowIfNull(labels);
        if (prediction.SampleFormat != TiffSampleFormat.Float32)
            throw new ArgumentException($"the prediction holds {prediction.SampleFormat} samples; the scores need float32 probabilities", nameof(prediction));
        if (labels.SampleFormat != TiffSampleFormat.UInt8)
            throw new ArgumentException($"the labels hold {labels.SampleFormat} samples; the scores need 8-bit labels", nameof(labels));
        if (prediction.PageCount != labels.PageCount || prediction.Height != labels.Height || prediction.Width != labels.Width)
            throw new ArgumentException(
                $"the prediction has {prediction.PageCount} page(s) of {prediction.Width}x{prediction.Height} but the labels {labels.PageCount} of {labels.Width}x{labels.Height}",
                nameof(labels));
        return Compute(prediction.GetFloat32(), labels.GetUInt8(), labels.PageCount, labels.Height, labels.Width);
    }

    /// <summary>Both scores at one threshold <paramref name="threshold"/> (P &gt; t is predicted non-membrane).</summary>
    /// <param name="probabilities">P, as for <see cref="Compute(ReadOnlySpan{float}, ReadOnlySpan{byte}, int, int, int)"/>.</param>
    /// <param name="labels">L, as for <see cref="Compute(ReadOnlySpan{float}, ReadOnlySpan{byte}, int, int, int)"/>.</param>
    /// <param name="pages">Number of pages (at least 1).</param>
    /// <param name="height">Rows per page (at least 1).</param>
    /// <param name="width">Columns per page (at least 1).</param>
    /// <param name="threshold">t, in [0, 1].</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is below 1, or the threshold lies outside [0, 1].</exception>
    /// <exception cref="ArgumentException">As for <see cref="Compute(ReadOnlySpan{float}, ReadOnlySpan{byte}, int, int, int)"/>.</exception>
    public static ThresholdScore At(ReadOnlySpan<float> probabilities, ReadOnlySpan<byte> labels, int pages, int height, int width, double threshold)
    {
        if (!(threshold >= 0 && threshold <= 1)) throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "the threshold must lie in [0, 1]");
        return new Scorer(GroundTruth.Prepare(probabilities, labels, pages, height, width)).Score(probabilities, threshold);
    }

    /// <summary>The ground truth's segments and their sums, the same for every threshold.</summary>
    private sealed class GroundTruth
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

        public static GroundTruth Prepare(ReadOnlySpan<float> probabilities, ReadOnlySpan<byte> labels, int pages, int height, int width)
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
                sumNLogN += NLogN(sizes[j]);
            }
            return new GroundTruth
            {
                Pages = pages, Height = height, Width = width, Segments = segments,
                Counted = labels.Length - sizes[0], SegmentCount = count, SumSquares = sumSquares, SumNLogN = sumNLogN,
            };
        }
    }

    /// <summary>Scores thresholds against one ground truth, reusing its buffers.</summary>
    private sealed class Scorer(GroundTruth truth)
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
                jointNLogN += NLogN(n);
            }
            for (int i = 1; i <= predictedCount; i++)
            {
                long a = predictedSizes[i];
                if (a == 0) continue; // a predicted segment on true membrane only: not counted
                predictedSquares += a * a;
                predictedNLogN += NLogN(a);
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
                double nLogN = NLogN(truth.Counted);
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

    private static double NLogN(long n) => n <= 1 ? 0 : n * Math.Log(n);
}
