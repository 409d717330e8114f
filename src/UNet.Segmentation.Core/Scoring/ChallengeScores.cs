using UNet.Segmentation.Imaging;

namespace UNet.Segmentation.Scoring;

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
/// integers or doubles. <see cref="Compute(ReadOnlySpan{float}, ReadOnlySpan{byte}, int, int, int)"/>
/// also computes the thinned scores (<see cref="ThinnedScores"/>), which cost more: one flooding
/// of every page at each of their 11 thresholds.</para>
/// </remarks>
public static class ChallengeScores
{
    /// <summary>The thresholds the challenge's scores are taken over: 0.1, 0.2, …, 0.9 (each the double nearest k/10).</summary>
    public static IReadOnlyList<double> Thresholds { get; } = Array.AsReadOnly(Enumerable.Range(1, 9).Select(k => k / 10.0).ToArray());

    /// <summary>
    /// Both scores at every threshold of <see cref="Thresholds"/>, the best of each and both at 0.5,
    /// and the official scores after border thinning (<see cref="ChallengeScoreReport.Thinned"/>,
    /// see <see cref="ThinnedScores"/>) when every page has interior pixels.
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
        var truth = GroundTruthSegments.Prepare(probabilities, labels, pages, height, width);
        var scorer = new ThresholdScorer(truth);
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
            bestRand.Threshold, bestInfo.Threshold, Array.AsReadOnly(scores), truth.Counted)
        {
            Thinned = ThinnedScores.TryCompute(probabilities, truth),
        };
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
        CheckVolumes(prediction, labels);
        return Compute(prediction.GetFloat32(), labels.GetUInt8(), labels.PageCount, labels.Height, labels.Width);
    }

    /// <summary>Refuses volumes that are not a float32 map and 8-bit labels of the same page count and size.</summary>
    internal static void CheckVolumes(TiffVolume prediction, TiffVolume labels)
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
        return new ThresholdScorer(GroundTruthSegments.Prepare(probabilities, labels, pages, height, width)).Score(probabilities, threshold);
    }

    /// <summary>n ln n, 0 for n ≤ 1 (0 · ln 0 = 0).</summary>
    internal static double NLogN(long n) => n <= 1 ? 0 : n * Math.Log(n);
}
