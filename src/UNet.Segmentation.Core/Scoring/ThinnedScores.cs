using UNet.Segmentation.Imaging;

namespace UNet.Segmentation.Scoring;

/// <summary>
/// The ISBI 2012 challenge's official scores, V_rand and V_info after border thinning, computed as
/// the challenge's own evaluation does: Fiji's Trainable_Segmentation,
/// <c>RandError.getMaximalVRandAfterThinning(0.0, 1.0, 0.1, true)</c> and
/// <c>VariationOfInformation.getMaximalVInfoAfterThinning(0.0, 1.0, 0.1)</c>.
/// </summary>
/// <remarks>
/// <para>From a probability map P (1 = non-membrane certain) and labels L (0 = membrane, 255 = interior):</para>
/// <list type="bullet">
/// <item>thresholds: t = 0.0, then t += 0.1 while t ≤ 1.0, in double arithmetic as Java's loop
/// adds: 11 values, among them 0.30000000000000004, 0.7999999999999999 and 0.9999999999999999
/// (<see cref="Thresholds"/>);</item>
/// <item>at each t, page by page: the prediction's interior is P &gt; t, the float32 P widened to
/// double and compared with the double t (so a pixel of exactly 0.1f is interior at t = 0.1, and
/// the last t keeps only P = 1 as interior); the membrane (P ≤ t) is thinned by
/// <see cref="BorderThinning"/>: its pixels join the neighbouring segments, except 1-pixel dams
/// (label 0) where two segments meet;</item>
/// <item>true segments: the 4-connected components of L &gt; 127 in the page (Fiji binarizes the
/// labels with the same t, L &gt; t; for 0/255 labels, as the challenge's, that is the same);</item>
/// <item>only the page's n pixels with a true segment count; a counted pixel on a dam is a
/// segment of its own;</item>
/// <item>V_rand of the page: the F-score of the Rand precision Σ n_ij² / Σ b_i² and recall
/// Σ n_ij² / Σ a_j² (n_ij counted pixels in predicted segment i and true segment j, b_i and a_j
/// their sums), which is 2 Σ n_ij² / (Σ a_j² + Σ b_i²);</item>
/// <item>V_info of the page: the F-score of precision I / H(truth) and recall I / H(prediction),
/// 2 I / (H(truth) + H(prediction)) with I the mutual information (natural logarithms, from
/// p = count / n); 0 when a side has one part only (Fiji's rule for a zero entropy), and 0 when
/// I = 0 (where Fiji's 0 / 0 would give NaN);</item>
/// <item>each score at t: the mean over pages (Fiji's per-slice average; for V_rand the
/// <c>perSliceAverage = true</c> of the call above); reported: the maximum over t, at the first t
/// that reaches it, and both at t = 0.5.</item>
/// </list>
/// <para>These differ from <see cref="ChallengeScores"/>, the challenge's formulas without thinning
/// over t = 0.1 … 0.9, pooled over the stack: there every membrane pixel on a counted pixel is a
/// singleton, which a thick membrane band pays for; here only the dams are.</para>
/// <para>Counts are exact integers, sums of n ln n in double; Fiji's own arithmetic with
/// p = count / n gives the same to about 1e-15. One difference by design: Fiji keeps labels in
/// 16 bits, so beyond 65,535 segments in one page its segments would merge; here they do not.</para>
/// </remarks>
public static class ThinnedScores
{
    /// <summary>The thresholds visited: Java's <c>for (th = 0.0; th &lt;= 1.0; th += 0.1)</c>, 11 doubles from 0.0 to 0.9999999999999999.</summary>
    public static IReadOnlyList<double> Thresholds { get; } = Array.AsReadOnly(JavaThresholds());

    private static double[] JavaThresholds()
    {
        var thresholds = new List<double>();
        for (double t = 0.0; t <= 1.0; t += 0.1) thresholds.Add(t);
        return [.. thresholds];
    }

    /// <summary>Both scores after thinning at every threshold of <see cref="Thresholds"/>, the best of each and both at 0.5.</summary>
    /// <param name="probabilities">P: pages × height × width probabilities of non-membrane in [0, 1], page-major then row-major.</param>
    /// <param name="labels">L: pages × height × width labels; a pixel is interior (counted) where L &gt; 127.</param>
    /// <param name="pages">Number of pages (at least 1).</param>
    /// <param name="height">Rows per page (at least 1).</param>
    /// <param name="width">Columns per page (at least 1).</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is below 1.</exception>
    /// <exception cref="ArgumentException">A span's length does not match the size, a probability is NaN or outside [0, 1],
    /// or a page has no label above 127 (the scores are a mean over pages, and such a page has none); the exception names the argument.</exception>
    public static ThinnedScoreReport Compute(ReadOnlySpan<float> probabilities, ReadOnlySpan<byte> labels, int pages, int height, int width)
    {
        var truth = GroundTruthSegments.Prepare(probabilities, labels, pages, height, width);
        var pageTruths = PageTruth.Of(truth);
        int empty = Array.FindIndex(pageTruths, p => p.Counted == 0);
        if (empty >= 0)
            throw new ArgumentException(
                $"page {empty} has no label above 127: the thinned scores are a mean over pages, and a page without interior pixels has no score", nameof(labels));
        return Compute(probabilities, truth, pageTruths, Thresholds);
    }

    /// <summary>The scores of a float32 probability volume against an 8-bit label volume of the same page count and size.</summary>
    /// <param name="prediction">Float32 probabilities of non-membrane in [0, 1].</param>
    /// <param name="labels">8-bit labels; interior where &gt; 127.</param>
    /// <exception cref="ArgumentException">A volume has the wrong sample format, the page counts or sizes differ, or
    /// the values are refused as by <see cref="Compute(ReadOnlySpan{float}, ReadOnlySpan{byte}, int, int, int)"/>.</exception>
    public static ThinnedScoreReport Compute(TiffVolume prediction, TiffVolume labels)
    {
        ChallengeScores.CheckVolumes(prediction, labels);
        return Compute(prediction.GetFloat32(), labels.GetUInt8(), labels.PageCount, labels.Height, labels.Width);
    }

    /// <summary>Both scores after thinning at one threshold <paramref name="threshold"/> (P &gt; t, in double, is interior), each the mean over pages.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is below 1, or the threshold lies outside [0, 1].</exception>
    /// <exception cref="ArgumentException">As for <see cref="Compute(ReadOnlySpan{float}, ReadOnlySpan{byte}, int, int, int)"/>.</exception>
    public static ThresholdScore At(ReadOnlySpan<float> probabilities, ReadOnlySpan<byte> labels, int pages, int height, int width, double threshold)
    {
        if (!(threshold >= 0 && threshold <= 1)) throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "the threshold must lie in [0, 1]");
        var truth = GroundTruthSegments.Prepare(probabilities, labels, pages, height, width);
        var pageTruths = PageTruth.Of(truth);
        int empty = Array.FindIndex(pageTruths, p => p.Counted == 0);
        if (empty >= 0)
            throw new ArgumentException($"page {empty} has no label above 127: a page without interior pixels has no thinned score", nameof(labels));
        return Compute(probabilities, truth, pageTruths, [threshold]).PerThreshold[0];
    }

    /// <summary>The report, or null when a page has no counted pixel (for <see cref="ChallengeScores"/>, which scores such stacks without thinning).</summary>
    internal static ThinnedScoreReport? TryCompute(ReadOnlySpan<float> probabilities, GroundTruthSegments truth)
    {
        var pageTruths = PageTruth.Of(truth);
        return Array.Exists(pageTruths, p => p.Counted == 0) ? null : Compute(probabilities, truth, pageTruths, Thresholds);
    }

    private static ThinnedScoreReport Compute(ReadOnlySpan<float> probabilities, GroundTruthSegments truth, PageTruth[] pageTruths, IReadOnlyList<double> thresholds)
    {
        int pageSize = truth.Height * truth.Width;
        var thinning = new BorderThinning(truth.Height, truth.Width);
        var scorer = new ThinnedPageScorer();
        var interior = new byte[pageSize];
        var segments = new int[pageSize];
        var rand = new double[thresholds.Count];
        var info = new double[thresholds.Count];
        foreach (var page in pageTruths)
        {
            var p = probabilities.Slice(page.Start, pageSize);
            var trueSegments = truth.Segments.AsSpan(page.Start, pageSize);
            for (int k = 0; k < thresholds.Count; k++)
            {
                double t = thresholds[k];
                for (int q = 0; q < pageSize; q++) interior[q] = p[q] > t ? (byte)1 : (byte)0;
                int count = thinning.Thin(interior, segments);
                var (vRand, vInfo) = scorer.Score(trueSegments, page, segments, count);
                rand[k] += vRand; // page after page, in order, as Fiji sums its slices
                info[k] += vInfo;
            }
        }

        var scores = new ThresholdScore[thresholds.Count];
        for (int k = 0; k < scores.Length; k++) scores[k] = new ThresholdScore(thresholds[k], rand[k] / truth.Pages, info[k] / truth.Pages);
        ThresholdScore bestRand = scores[0], bestInfo = scores[0], atHalf = scores[0];
        foreach (var s in scores)
        {
            if (s.VRand > bestRand.VRand) bestRand = s;
            if (s.VInfo > bestInfo.VInfo) bestInfo = s;
            if (s.Threshold == 0.5) atHalf = s;
        }
        return new ThinnedScoreReport(bestRand.VRand, bestInfo.VInfo, atHalf.VRand, atHalf.VInfo,
            bestRand.Threshold, bestInfo.Threshold, Array.AsReadOnly(scores), truth.Pages);
    }
}
