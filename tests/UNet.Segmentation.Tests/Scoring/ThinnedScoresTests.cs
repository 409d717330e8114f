using System.Runtime.InteropServices;
using UNet.Segmentation.Imaging;
using UNet.Segmentation.Scoring;

namespace UNet.Segmentation.Tests.Scoring;

/// <summary>
/// The challenge's official scores after border thinning (Fiji's RandError and
/// VariationOfInformation "after thinning"). The hand-made cases count per page: n counted pixels,
/// n_ij counted pixels in predicted segment i and true segment j, dams on counted pixels as
/// singletons, a_j true sizes, b_i predicted sizes; V_rand = 2 Σ n_ij² / (Σ a_j² + Σ b_i²) and
/// V_info = 2 I / (H(truth) + H(prediction)), 0 when a side is one part; each the mean over pages.
/// Pictures: '#' interior (label 255, probability 1), '.' membrane (0). A certain (0/1) map has
/// the same segments at all 11 thresholds: 1 &gt; 0.9999999999999999 and 0 &gt; 0.0 is false.
/// </summary>
public class ThinnedScoresTests
{
    private const double Tolerance = 1e-12;

    private static byte[] Labels(params string[] rows) => string.Concat(rows).Select(c => c == '#' ? (byte)255 : (byte)0).ToArray();

    private static float[] Prediction(params string[] rows) => string.Concat(rows).Select(c => c == '#' ? 1f : 0f).ToArray();

    private static void AssertAtEveryThreshold(ThinnedScoreReport report, double vRand, double vInfo)
    {
        Assert.Equal(ThinnedScores.Thresholds, report.PerThreshold.Select(s => s.Threshold));
        Assert.All(report.PerThreshold, s =>
        {
            Assert.Equal(vRand, s.VRand, Tolerance);
            Assert.Equal(vInfo, s.VInfo, Tolerance);
        });
        Assert.Equal(vRand, report.VRand, Tolerance);
        Assert.Equal(vInfo, report.VInfo, Tolerance);
        Assert.Equal(vRand, report.VRandAt05, Tolerance);
        Assert.Equal(vInfo, report.VInfoAt05, Tolerance);
        Assert.Equal((0.0, 0.0), (report.BestRandThreshold, report.BestInfoThreshold)); // all equal: the first
    }

    [Fact]
    public void Thresholds_AreJavasLoop_ZeroToOneBySteps()
    {
        // for (th = 0.0; th <= 1.0; th += 0.1) in doubles: 11 values, the accumulated ones not the nearest tenths.
        Assert.Equal(11, ThinnedScores.Thresholds.Count);
        Assert.Equal((0.0, 0.1, 0.2, 0.5), (ThinnedScores.Thresholds[0], ThinnedScores.Thresholds[1], ThinnedScores.Thresholds[2], ThinnedScores.Thresholds[5]));
        Assert.Equal(0.30000000000000004, ThinnedScores.Thresholds[3]);
        Assert.Equal(0.7999999999999999, ThinnedScores.Thresholds[8]);
        Assert.Equal(0.9999999999999999, ThinnedScores.Thresholds[10]);
    }

    [Fact]
    public void AThickPredictedMembrane_IsThinned_WhereTheUnthinnedScorePaysForIt()
    {
        // Labels ##.## (true segments {x0,x1}, {x3,x4}; n = 4); prediction #...#. Thinned: AA.BB, the
        // dam on the uncounted x2: the same segments, 1 and 1. Unthinned at t 0.5: x1 and x3 are
        // singletons: Σ n² = 1+1+1+1 = 4, Σ a² = 8, Σ b² = 4: V_rand = 8/12.
        var thinned = ThinnedScores.Compute(Prediction("#...#"), Labels("##.##"), 1, 1, 5);
        AssertAtEveryThreshold(thinned, 1, 1);
        Assert.Equal(2.0 / 3, ChallengeScores.At(Prediction("#...#"), Labels("##.##"), 1, 1, 5, 0.5).VRand, Tolerance);
    }

    [Fact]
    public void ATie_PutsTheDamOnTheLaterPixel_SoMirroredPredictionsScoreDifferently()
    {
        // Labels ##.## in both. Prediction #..##: membrane x1, x2; x1 takes A, x2 sees A then B:
        // AA.BB, the dam on the uncounted x2: 1 and 1.
        AssertAtEveryThreshold(ThinnedScores.Compute(Prediction("#..##"), Labels("##.##"), 1, 1, 5), 1, 1);
        // Prediction ##..#: membrane x2, x3; x2 takes A, x3 sees A then B: AAA.B, the dam on the
        // counted x3, a singleton. n_ij: (A,1) = 2, (B,2) = 1, dam 1; Σ n² = 4+1+1 = 6,
        // Σ a² = 4+4 = 8, Σ b² = 4+1+1 = 6: V_rand = 12/14 = 6/7. Parts: truth {2,2}, prediction
        // and joint {2,1,1}: H(truth) = ln 2, H(pred) = H(joint) = 1.5 ln 2, I = ln 2:
        // V_info = 2 ln 2 / 2.5 ln 2 = 0.8.
        AssertAtEveryThreshold(ThinnedScores.Compute(Prediction("##..#"), Labels("##.##"), 1, 1, 5), 6.0 / 7, 0.8);
    }

    [Fact]
    public void DamsOnCountedPixels_AreSingletons_In2D()
    {
        // Prediction #.. / .## thins to A.B / .BB (BorderThinningTests: the dam at (1,0) is
        // overturned at (2,0)); dams at (1,0) and (0,1). Labels ### / ### (one true segment, n = 6):
        // n_ij: (A,1) = 1, (B,1) = 3, dams 2; Σ n² = 1+9+2 = 12, Σ a² = 36, Σ b² = 12: V_rand = 24/48.
        // One true segment: H(truth) = 0, so V_info = 0 (Fiji: precision 0, recall 1 → F 0).
        AssertAtEveryThreshold(ThinnedScores.Compute(Prediction("#..", ".##"), Labels("###", "###"), 1, 2, 3), 0.5, 0);
        // Labels #.# / ### (true segments: one, n = 5; (1,0) not counted): n_ij (A,1) = 1, (B,1) = 3,
        // dam (0,1) 1; Σ n² = 1+9+1 = 11, Σ a² = 25, Σ b² = 11: V_rand = 22/36.
        AssertAtEveryThreshold(ThinnedScores.Compute(Prediction("#..", ".##"), Labels("#.#", "###"), 1, 2, 3), 22.0 / 36, 0);
        // Labels #.# / #.# (true segments {(0,0),(0,1)}, {(2,0),(2,1)}; n = 4): n_ij (A,1) = 1,
        // dam (0,1) on 1, (B,2) = 2; Σ n² = 1+1+4 = 6, Σ a² = 8, Σ b² = 1+1+4 = 6: V_rand = 12/14.
        // Parts: truth {2,2}, prediction = joint {1,1,2}: I = H(truth) = ln 2, H(pred) = 1.5 ln 2: V_info = 0.8.
        AssertAtEveryThreshold(ThinnedScores.Compute(Prediction("#..", ".##"), Labels("#.#", "#.#"), 1, 2, 3), 6.0 / 7, 0.8);
    }

    [Fact]
    public void OnePartOnASide_GivesVInfoZero_AsFijisRuleSays()
    {
        // One true segment predicted exactly: V_rand 1, but H(truth) = 0 → V_info 0 (not 1 as unthinned).
        AssertAtEveryThreshold(ThinnedScores.Compute(Prediction("###"), Labels("###"), 1, 1, 3), 1, 0);
        Assert.Equal(1.0, ChallengeScores.At(Prediction("###"), Labels("###"), 1, 1, 3, 0.5).VInfo);
        // All membrane predicted: no basin, the page is one segment (no dams). Labels ##.##:
        // Σ n² = 4+4 = 8, Σ a² = 8, Σ b² = 16: V_rand = 16/24; one predicted part: V_info 0.
        AssertAtEveryThreshold(ThinnedScores.Compute(Prediction("....."), Labels("##.##"), 1, 1, 5), 2.0 / 3, 0);
    }

    [Fact]
    public void TheLabelsAsAPrediction_ScoreOne_HoweverThickTheirMembranes()
    {
        // P = 1 on L > 127 and 0 elsewhere: the basins are the true segments themselves, the membrane
        // joins them or becomes dams, and no counted pixel is on a membrane: 1 and 1 on every page with
        // two or more true segments, at every threshold (the unthinned scores agree: no singletons either).
        var (_, labels) = ChallengeScoresTests.RandomStack(seed: 11, pages: 3, height: 24, width: 32);
        var exact = labels.Select(l => l > 127 ? 1f : 0f).ToArray();
        AssertAtEveryThreshold(ThinnedScores.Compute(exact, labels, 3, 24, 32), 1, 1);
    }

    [Fact]
    public void Pages_AreAveraged_NotPooled()
    {
        // Page 0: #..## against ##.## (1, 1); page 1: ##..# against ##.## (6/7, 0.8), as above.
        // Mean: (1 + 6/7) / 2 = 13/14 and 0.9. Pooled counts would give 2 (8 + 6) / (16 + 14) = 14/15.
        var report = ThinnedScores.Compute(Prediction("#..##", "##..#"), Labels("##.##", "##.##"), 2, 1, 5);
        AssertAtEveryThreshold(report, 13.0 / 14, 0.9);
        Assert.Equal(2, report.Pages);
    }

    [Fact]
    public void Thresholds_CompareTheFloatMapInDouble()
    {
        // Labels ##.##; x2's probability decides whether A and B merge (one predicted segment:
        // Σ n² = 8, Σ a² = 8, Σ b² = 16, V_rand 2/3, V_info 0) or are split by a dam on x2 (1, 1).
        // 0.1f = 0.100000001… > 0.1 in double: interior at t = 0.0 and t = 0.1, membrane from 0.2.
        var report = ThinnedScores.Compute(new[] { 1f, 1f, 0.1f, 1f, 1f }, Labels("##.##"), 1, 1, 5);
        Assert.Equal([2.0 / 3, 2.0 / 3, 1, 1, 1, 1, 1, 1, 1, 1, 1], report.PerThreshold.Select(s => s.VRand), new Near());
        Assert.Equal([0.0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1], report.PerThreshold.Select(s => s.VInfo), new Near());
        Assert.Equal((1.0, 0.2, 1.0, 0.2), (report.VRand, report.BestRandThreshold, report.VInfo, report.BestInfoThreshold));
        // The last threshold, 0.9999999999999999, keeps only P = 1 as interior: 0.99999994f is membrane
        // there alone, so the best (first best) threshold is the last.
        report = ThinnedScores.Compute(new[] { 1f, 1f, 0.99999994f, 1f, 1f }, Labels("##.##"), 1, 1, 5);
        Assert.Equal((1.0, 0.9999999999999999), (report.VRand, report.BestRandThreshold));
        Assert.Equal(2.0 / 3, report.VRandAt05, Tolerance);
        Assert.All(report.PerThreshold.Take(10), s => Assert.Equal(2.0 / 3, s.VRand, Tolerance));
        // At one threshold, as the report has it.
        Assert.Equal(report.PerThreshold[8], ThinnedScores.At(new[] { 1f, 1f, 0.99999994f, 1f, 1f }, Labels("##.##"), 1, 1, 5, ThinnedScores.Thresholds[8]));
        Assert.Equal(1.0, ThinnedScores.At(new[] { 1f, 1f, 0.1f, 1f, 1f }, Labels("##.##"), 1, 1, 5, 0.1f).VRand); // t = 0.100000001…: membrane
    }

    private sealed class Near : IEqualityComparer<double>
    {
        public bool Equals(double a, double b) => Math.Abs(a - b) < Tolerance;
        public int GetHashCode(double value) => 0;
    }

    [Fact]
    public void ChallengeScores_CarryTheThinnedScores_ExceptWithAnEmptyPage()
    {
        var (probabilities, labels) = ChallengeScoresTests.RandomStack(seed: 7, pages: 2, height: 20, width: 24);
        var thinned = ThinnedScores.Compute(probabilities, labels, 2, 20, 24);
        var carried = ChallengeScores.Compute(probabilities, labels, 2, 20, 24).Thinned;
        Assert.NotNull(carried);
        Assert.Equal(thinned.PerThreshold, carried.PerThreshold);
        Assert.Equal(thinned with { PerThreshold = carried.PerThreshold }, carried);
        Assert.Contains(thinned.PerThreshold, s => s.VRand is > 0.05 and < 0.95); // not a trivial case

        var fromVolumes = ThinnedScores.Compute(new TiffVolume(2, 20, 24, probabilities), new TiffVolume(2, 20, 24, labels));
        Assert.Equal(thinned.PerThreshold, fromVolumes.PerThreshold);

        // A page with no interior label: the pooled scores exist, the mean over pages does not.
        labels.AsSpan(480).Clear();
        Assert.Null(ChallengeScores.Compute(probabilities, labels, 2, 20, 24).Thinned);
        var e = Assert.Throws<ArgumentException>(() => ThinnedScores.Compute(probabilities, labels, 2, 20, 24));
        Assert.Equal("labels", e.ParamName);
        Assert.Contains("page 1 has no label above 127", e.Message);
    }

    [Fact]
    public void BadInputs_AreRefused_NamingTheArgument()
    {
        var l = Labels("##.", "###");
        Assert.Equal("probabilities", Assert.Throws<ArgumentException>(() => ThinnedScores.Compute(new float[5], l, 1, 2, 3)).ParamName);
        Assert.Equal("labels", Assert.Throws<ArgumentException>(() => ThinnedScores.Compute(new float[6], new byte[7], 1, 2, 3)).ParamName);
        Assert.Equal("height", Assert.Throws<ArgumentOutOfRangeException>(() => ThinnedScores.Compute(new float[6], l, 1, 0, 3)).ParamName);
        var nan = Assert.Throws<ArgumentException>(() => ThinnedScores.Compute(new[] { 0f, 0, 0, 0, float.NaN, 0 }, l, 1, 2, 3));
        Assert.Equal("probabilities", nan.ParamName);
        Assert.Contains("NaN at page 0, row 1, column 1", nan.Message);
        Assert.Equal("threshold", Assert.Throws<ArgumentOutOfRangeException>(() => ThinnedScores.At(new float[6], l, 1, 2, 3, 1.5)).ParamName);
        Assert.Equal("threshold", Assert.Throws<ArgumentOutOfRangeException>(() => ThinnedScores.At(new float[6], l, 1, 2, 3, double.NaN)).ParamName);
        var u8 = new TiffVolume(1, 2, 3, l);
        Assert.Equal("prediction", Assert.Throws<ArgumentException>(() => ThinnedScores.Compute(u8, u8)).ParamName);
        Assert.Equal("labels", Assert.Throws<ArgumentException>(() => ThinnedScores.Compute(new TiffVolume(1, 3, 2, new float[6]), u8)).ParamName);
    }

    /// <summary>Writes a stack as the raw files the peer reads.</summary>
    internal static (string Probabilities, string Labels) WriteRaw(string dir, string name, float[] probabilities, byte[] labels)
    {
        string p = Path.Combine(dir, name + ".f32"), l = Path.Combine(dir, name + ".u8");
        File.WriteAllBytes(p, MemoryMarshal.AsBytes(probabilities.AsSpan()).ToArray());
        File.WriteAllBytes(l, labels);
        return (p, l);
    }
}
