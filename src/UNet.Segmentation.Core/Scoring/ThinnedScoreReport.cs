using System.Globalization;

namespace UNet.Segmentation.Scoring;

/// <summary>
/// The ISBI 2012 challenge's official scores of a probability map against a label stack, after
/// border thinning (<see cref="ThinnedScores.Compute(ReadOnlySpan{float}, ReadOnlySpan{byte}, int, int, int)"/>):
/// the best V_rand and the best V_info over the thresholds the challenge's evaluation visits, each
/// at its own best threshold, and both at 0.5. Each score is the mean of the pages' scores.
/// </summary>
/// <param name="VRand">The best V_rand(thinned) over <see cref="ThinnedScores.Thresholds"/>.</param>
/// <param name="VInfo">The best V_info(thinned) over <see cref="ThinnedScores.Thresholds"/>.</param>
/// <param name="VRandAt05">V_rand(thinned) at threshold 0.5.</param>
/// <param name="VInfoAt05">V_info(thinned) at threshold 0.5.</param>
/// <param name="BestRandThreshold">The threshold of <see cref="VRand"/>, exactly as visited (the lowest of equal best scores; e.g. 0.30000000000000004, not 0.3).</param>
/// <param name="BestInfoThreshold">The threshold of <see cref="VInfo"/>, as visited.</param>
/// <param name="PerThreshold">Both scores at every threshold, in increasing order of threshold.</param>
/// <param name="Pages">The number of pages the scores are the mean of.</param>
public sealed record ThinnedScoreReport(
    double VRand,
    double VInfo,
    double VRandAt05,
    double VInfoAt05,
    double BestRandThreshold,
    double BestInfoThreshold,
    IReadOnlyList<ThresholdScore> PerThreshold,
    int Pages)
{
    /// <summary>One line: the best scores with their thresholds, and both at 0.5.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"thinned: V_rand {VRand:F4} (t {BestRandThreshold:0.0}) | V_info {VInfo:F4} (t {BestInfoThreshold:0.0}) | at t 0.5: V_rand {VRandAt05:F4}, V_info {VInfoAt05:F4} (mean of {Pages} page(s))");
}
