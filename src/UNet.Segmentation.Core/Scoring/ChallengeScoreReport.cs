using System.Globalization;

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
    /// <summary>
    /// The challenge's official scores, after border thinning and averaged over pages, as Fiji's
    /// Trainable_Segmentation computes them (<see cref="ThinnedScores"/>); null when a page has no
    /// interior pixel (its mean over pages is not defined) or when the report was built by hand.
    /// </summary>
    public ThinnedScoreReport? Thinned { get; init; }

    /// <summary>One line: the best scores with their thresholds, and both at 0.5.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"V_rand {VRand:F4} (t {BestRandThreshold:0.0}) | V_info {VInfo:F4} (t {BestInfoThreshold:0.0}) | at t 0.5: V_rand {VRandAt05:F4}, V_info {VInfoAt05:F4} ({CountedPixels} pixels)");
}
