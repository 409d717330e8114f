using System.Diagnostics;
using System.Text.Json;
using UNet.Segmentation.Data;
using UNet.Segmentation.Imaging;
using UNet.Segmentation.Tests.Peer;
using UNet.Segmentation.Scoring;
using UNet.Segmentation.Tests.Shared;

namespace UNet.Segmentation.Tests.Scoring;

/// <summary>
/// The ISBI 2012 challenge's V_rand and V_info. The hand-made cases write out the arithmetic in
/// counts: with N counted pixels, n_ij = N p_ij, a_i = N s_i, b_j = N t_j, so
/// V_rand = 2 Σ n_ij² / (Σ a_i² + Σ b_j²) (the N² cancels), and the entropies are taken of the
/// fractions count / N.
/// </summary>
public class ChallengeScoresTests(ITestOutputHelper output)
{
    private const double Tolerance = 1e-12;

    /// <summary>Labels from rows of '#' (interior, 255) and '.' (membrane, 0).</summary>
    private static byte[] Labels(params string[] rows) =>
        string.Concat(rows).Select(c => c == '#' ? (byte)255 : (byte)0).ToArray();

    /// <summary>A certain prediction from rows of '#' (1, non-membrane) and '.' (0, membrane).</summary>
    private static float[] Prediction(params string[] rows) =>
        string.Concat(rows).Select(c => c == '#' ? 1f : 0f).ToArray();

    /// <summary>−Σ (c / N) ln(c / N) over the counts c.</summary>
    private static double H(int n, params int[] counts) => -counts.Sum(c => (double)c / n * Math.Log((double)c / n));

    private static void AssertAtEveryThreshold(ChallengeScoreReport report, double vRand, double vInfo)
    {
        Assert.Equal(ChallengeScores.Thresholds, report.PerThreshold.Select(s => s.Threshold));
        Assert.All(report.PerThreshold, s =>
        {
            Assert.Equal(vRand, s.VRand, Tolerance);
            Assert.Equal(vInfo, s.VInfo, Tolerance);
        });
        Assert.Equal(vRand, report.VRand, Tolerance);
        Assert.Equal(vInfo, report.VInfo, Tolerance);
        Assert.Equal(vRand, report.VRandAt05, Tolerance);
        Assert.Equal(vInfo, report.VInfoAt05, Tolerance);
    }

    [Fact]
    public void IdenticalSegmentations_ScoreOne()
    {
        // Four true segments (4, 4, 3 and 1 pixels; N = 12), predicted exactly:
        // Σ n² = Σ a² = Σ b² = 16 + 16 + 9 + 1 = 42, V_rand = 2·42 / (42 + 42) = 1; H(S) = H(T) = H(S,T) = I, V_info = 1.
        string[] rows = ["##.##", "##.##", ".....", "###.#"];
        var report = ChallengeScores.Compute(Prediction(rows), Labels(rows), 1, 4, 5);
        AssertAtEveryThreshold(report, 1, 1);
        Assert.Equal(12, report.CountedPixels);
    }

    [Fact]
    public void OneSegmentSplitInTwo()
    {
        // True:      A = pixels 0..6 (7), B = pixels 8..9 (2); N = 9.
        // Predicted: X = 0..2 (3), pixel 3 a singleton (predicted membrane inside A), Y = 4..6 (3), Z = 8..9 (2).
        // n: (X,A) 3, (single,A) 1, (Y,A) 3, (Z,B) 2.  Σ n² = 9 + 1 + 9 + 4 = 23 = Σ a²;  Σ b² = 49 + 4 = 53.
        // Every predicted segment lies in one true segment, so H(S,T) = H(S) and I = H(T).
        var report = ChallengeScores.Compute(Prediction("###.###.##"), Labels("#######.##"), 1, 1, 10);
        double hS = H(9, 3, 1, 3, 2), hT = H(9, 7, 2);
        AssertAtEveryThreshold(report, 2.0 * 23 / (23 + 53), 2 * hT / (hS + hT));
        Assert.Equal(9, report.CountedPixels);
    }

    [Fact]
    public void TwoSegmentsMerged()
    {
        // True:      A = 0..1 (2), B = 3..4 (2), C = 6..8 (3); N = 7 (pixels 2 and 5 are membrane, not counted).
        // Predicted: X = 0..4, through the membrane pixel 2 (4 counted pixels), Y = 6..8 (3).
        // n: (X,A) 2, (X,B) 2, (Y,C) 3.  Σ n² = 4 + 4 + 9 = 17;  Σ a² = 16 + 9 = 25;  Σ b² = 4 + 4 + 9 = 17.
        // Every true segment lies in one predicted segment, so H(S,T) = H(T) and I = H(S).
        var report = ChallengeScores.Compute(Prediction("#####.###"), Labels("##.##.###"), 1, 1, 9);
        double hS = H(7, 4, 3), hT = H(7, 2, 2, 3);
        AssertAtEveryThreshold(report, 2.0 * 17 / (25 + 17), 2 * hS / (hS + hT));
    }

    [Fact]
    public void MembranePixelInsideASegment()
    {
        // True:      A = the 3×3 block (9), B = column 4 (3); N = 12.
        // Predicted: X = the ring around the centre (8, still 4-connected), the centre a singleton, Z = column 4 (3).
        // n: (X,A) 8, (single,A) 1, (Z,B) 3.  Σ n² = 64 + 1 + 9 = 74 = Σ a²;  Σ b² = 81 + 9 = 90.  I = H(T).
        var report = ChallengeScores.Compute(
            Prediction("###.#", "#.#.#", "###.#"),
            Labels("###.#", "###.#", "###.#"), 1, 3, 5);
        double hS = H(12, 8, 1, 3), hT = H(12, 9, 3);
        AssertAtEveryThreshold(report, 2.0 * 74 / (74 + 90), 2 * hT / (hS + hT));
    }

    [Fact]
    public void DiagonalNeighbours_AreDifferentSegments()
    {
        // True: one 2×2 segment (N = 4). Predicted: two 1-pixel segments touching diagonally and two singletons,
        // so every n_ij is 1: Σ n² = Σ a² = 4, Σ b² = 16, V_rand = 8 / 20. (8-connected, the diagonal pair
        // would be one segment of 2: Σ n² = 6, V_rand = 12 / 22.) One true segment: H(T) = 0, so I = 0.
        var score = ChallengeScores.At(Prediction("#.", ".#"), Labels("##", "##"), 1, 2, 2, 0.5);
        Assert.Equal(8.0 / 20, score.VRand, Tolerance);
        Assert.Equal(0, score.VInfo, Tolerance);

        // And on the ground-truth side: two true 1-pixel segments touching diagonally, predicted as such.
        var identical = ChallengeScores.At(Prediction("#.", ".#"), Labels("#.", ".#"), 1, 2, 2, 0.5);
        Assert.Equal((1.0, 1.0), (identical.VRand, identical.VInfo));
    }

    [Fact]
    public void EveryCountedPixelPredictedMembrane_IsASingleton()
    {
        // True: A = 0..2 (3), B = 4..5 (2); N = 5. Predicted: all membrane, so five singletons:
        // Σ n² = Σ a² = 5, Σ b² = 9 + 4 = 13, V_rand = 10 / 18. H(S) = H(S,T) = ln 5, I = H(T).
        // (Were the predicted membrane one segment, Σ a² would be 25 and V_rand 2·13 / 38.)
        var report = ChallengeScores.Compute(Prediction("......"), Labels("###.##"), 1, 1, 6);
        double hT = H(5, 3, 2);
        AssertAtEveryThreshold(report, 10.0 / 18, 2 * hT / (Math.Log(5) + hT));
    }

    [Fact]
    public void PredictedSegmentsOnTrueMembraneOnly_ChangeNothing()
    {
        // Pixel (0, 3) is predicted interior but lies on true membrane, away from every counted pixel:
        // a predicted segment with no counted pixel, so a_i = 0 and no n_ij.
        var labels = Labels("##...##", "##...##");
        var plain = ChallengeScores.Compute(Prediction("##...##", "##...##"), labels, 1, 2, 7);
        var withIslands = ChallengeScores.Compute(Prediction("##.#.##", "##...##"), labels, 1, 2, 7);
        AssertAtEveryThreshold(plain, 1, 1);
        AssertAtEveryThreshold(withIslands, 1, 1);
    }

    [Fact]
    public void SlicesArePooled_AndTheirSegmentsAreDistinct()
    {
        // Page 0: true A (3), predicted X = A. Page 1: true B (3), predicted Y (1), a singleton, Z (1). N = 6.
        // n: (X,A) 3, (Y,B) 1, (single,B) 1, (Z,B) 1.  Σ n² = 9 + 3 = 12 = Σ a²;  Σ b² = 9 + 9 = 18;  V_rand = 24 / 30.
        // I = H(T) = ln 2 (two segments of 3). Averaging the pages instead would give V_rand (1 + 6/12) / 2 = 0.75;
        // A and B taken as one segment (the same label on both pages) would give 24 / 48.
        byte[] labels = [.. Labels("###"), .. Labels("###")];
        float[] prediction = [.. Prediction("###"), .. Prediction("#.#")];
        var report = ChallengeScores.Compute(prediction, labels, 2, 1, 3);
        double hS = H(6, 3, 1, 1, 1), hT = H(6, 3, 3);
        Assert.Equal(Math.Log(2), hT, Tolerance);
        AssertAtEveryThreshold(report, 24.0 / 30, 2 * hT / (hS + hT));
        Assert.Equal(6, report.CountedPixels);
    }

    [Fact]
    public void TheBestThresholdNeedNotBeHalf()
    {
        // True: two segments of 2 (N = 4). The pixel between them has P = 0.65, the others 0.9.
        // t ≤ 0.6: one predicted segment over both: Σ n² = 8, Σ a² = 16, Σ b² = 8, V_rand = 16/24; I = 0 (one predicted segment).
        // t = 0.7, 0.8: the two segments exactly: 1 and 1.
        // t = 0.9: 0.9 is not above 0.9 (compared as float32), all four are singletons: V_rand = 8 / 12;
        //          H(S) = H(S,T) = ln 4, H(T) = ln 2, V_info = 2 ln 2 / (ln 4 + ln 2) = 2/3.
        var report = ChallengeScores.Compute(new[] { 0.9f, 0.9f, 0.65f, 0.9f, 0.9f }, Labels("##.##"), 1, 1, 5);
        double[] rand = [.. Enumerable.Repeat(2.0 / 3, 6), 1, 1, 2.0 / 3];
        double[] info = [.. Enumerable.Repeat(0.0, 6), 1, 1, 2.0 / 3];
        for (int k = 0; k < 9; k++)
        {
            Assert.Equal(rand[k], report.PerThreshold[k].VRand, Tolerance);
            Assert.Equal(info[k], report.PerThreshold[k].VInfo, Tolerance);
        }
        Assert.Equal((1.0, 0.7, 1.0, 0.7), (report.VRand, report.BestRandThreshold, report.VInfo, report.BestInfoThreshold));
        Assert.Equal(2.0 / 3, report.VRandAt05, Tolerance);
        Assert.Equal(0.0, report.VInfoAt05, Tolerance);
    }

    [Fact]
    public void RandAndInfo_EachTakeTheirOwnBestThreshold()
    {
        // True: two segments of 3 (N = 6), the pixel between them P = 0.75, the others 0.8.
        // t ≤ 0.7: merged into one predicted segment: Σ n² = 9 + 9, Σ a² = 36, Σ b² = 18, V_rand = 36/54 = 2/3; I = 0.
        // t ≥ 0.8: all six are singletons: Σ n² = Σ a² = 6, V_rand = 12 / (6 + 18) = 1/2;
        //          H(S) = H(S,T) = ln 6, I = H(T) = ln 2, V_info = 2 ln 2 / (ln 6 + ln 2).
        // Rand prefers the merge (first at 0.1, the lowest of equal scores), information the singletons (from 0.8).
        var report = ChallengeScores.Compute(new[] { 0.8f, 0.8f, 0.8f, 0.75f, 0.8f, 0.8f, 0.8f }, Labels("###.###"), 1, 1, 7);
        double singletonInfo = 2 * Math.Log(2) / (Math.Log(6) + Math.Log(2));
        Assert.Equal(2.0 / 3, report.VRand, Tolerance);
        Assert.Equal(0.1, report.BestRandThreshold);
        Assert.Equal(singletonInfo, report.VInfo, Tolerance);
        Assert.Equal(0.8, report.BestInfoThreshold);
        Assert.Equal(0.5, report.PerThreshold[8].VRand, Tolerance);
        Assert.Equal(2.0 / 3, report.VRandAt05, Tolerance);
        Assert.Equal(0.0, report.VInfoAt05, Tolerance);
    }

    [Fact]
    public void LabelsAboveHalf_AreInterior_WhateverTheirValue()
    {
        // 128 and 200 are interior, 127 membrane: two true segments of 2 that one predicted segment merges,
        // V_rand = 2·(4 + 4) / (16 + 8) = 2/3. (127 as interior would make one true segment: 1.)
        byte[] labels = [128, 200, 127, 255, 129];
        var score = ChallengeScores.At(Prediction("#####"), labels, 1, 1, 5, 0.5);
        Assert.Equal(2.0 / 3, score.VRand, Tolerance);
        var binary = ChallengeScores.Compute(Prediction("#####"), Labels("##.##"), 1, 1, 5);
        Assert.Equal(binary.PerThreshold, ChallengeScores.Compute(Prediction("#####"), labels, 1, 1, 5).PerThreshold);
    }

    [Fact]
    public void Scores_DoNotDependOnHowSegmentsAreNumbered()
    {
        // Mirroring every page and reversing the pages renumbers every segment on both sides and
        // changes the order of the contingency table, not the partitions.
        var (probabilities, labels) = RandomStack(seed: 3, pages: 3, height: 24, width: 32);
        var (mirroredP, mirroredL) = (new float[probabilities.Length], new byte[labels.Length]);
        for (int page = 0; page < 3; page++)
            for (int y = 0; y < 24; y++)
                for (int x = 0; x < 32; x++)
                {
                    int from = (page * 24 + y) * 32 + x, to = ((2 - page) * 24 + y) * 32 + (31 - x);
                    (mirroredP[to], mirroredL[to]) = (probabilities[from], labels[from]);
                }
        var a = ChallengeScores.Compute(probabilities, labels, 3, 24, 32);
        var b = ChallengeScores.Compute(mirroredP, mirroredL, 3, 24, 32);
        Assert.Contains(a.PerThreshold, s => s.VRand is > 0.05 and < 0.95); // not a trivial case
        for (int k = 0; k < 9; k++)
        {
            Assert.Equal(a.PerThreshold[k].VRand, b.PerThreshold[k].VRand, Tolerance);
            Assert.Equal(a.PerThreshold[k].VInfo, b.PerThreshold[k].VInfo, Tolerance);
        }
    }

    [Fact]
    public void OneSegmentOnBothSides_IsOneAndOne()
    {
        // H(S) + H(T) = 0 only when both sides are one segment, the same one: V_info is 1 by convention,
        // V_rand = 2 N² / (N² + N²) = 1 by its formula. A single counted pixel predicted membrane is that case too.
        AssertAtEveryThreshold(ChallengeScores.Compute(Prediction("###"), Labels("###"), 1, 1, 3), 1, 1);
        AssertAtEveryThreshold(ChallengeScores.Compute(Prediction(".."), Labels(".#"), 1, 1, 2), 1, 1);
        // One true segment, two predicted (a singleton beside a segment): H(T) = 0 but H(S) > 0, so I = 0.
        var split = ChallengeScores.At(Prediction("##."), Labels("###"), 1, 1, 3, 0.5);
        Assert.Equal((2.0 * (4 + 1) / (5 + 9), 0.0), (split.VRand, split.VInfo));
    }

    [Fact]
    public void TiffVolumes_ScoreAsTheirSamples()
    {
        var (probabilities, labels) = RandomStack(seed: 5, pages: 2, height: 16, width: 20);
        var fromSpans = ChallengeScores.Compute(probabilities, labels, 2, 16, 20);
        var fromVolumes = ChallengeScores.Compute(new TiffVolume(2, 16, 20, probabilities), new TiffVolume(2, 16, 20, labels));
        Assert.Equal(fromSpans.PerThreshold, fromVolumes.PerThreshold);
        Assert.Equal(fromSpans.Thinned!.PerThreshold, fromVolumes.Thinned!.PerThreshold);
        Assert.Equal(fromSpans with { PerThreshold = fromVolumes.PerThreshold, Thinned = fromVolumes.Thinned }, fromVolumes);
    }

    [Fact]
    public void BadInputs_AreRefused_NamingTheArgument()
    {
        var p = new float[6];
        var l = Labels("###...");
        Assert.Equal("probabilities", Assert.Throws<ArgumentException>(() => ChallengeScores.Compute(new float[5], l, 1, 2, 3)).ParamName);
        Assert.Equal("labels", Assert.Throws<ArgumentException>(() => ChallengeScores.Compute(p, new byte[7], 1, 2, 3)).ParamName);
        Assert.Equal("pages", Assert.Throws<ArgumentOutOfRangeException>(() => ChallengeScores.Compute(p, l, 0, 2, 3)).ParamName);
        Assert.Equal("width", Assert.Throws<ArgumentOutOfRangeException>(() => ChallengeScores.Compute(p, l, 1, 6, 0)).ParamName);

        var nan = ArgumentExceptionFrom(() => ChallengeScores.Compute(new[] { 0f, 0, 0, 0, float.NaN, 0 }, l, 1, 2, 3));
        Assert.Equal("probabilities", nan.ParamName);
        Assert.Contains("NaN at page 0, row 1, column 1", nan.Message);
        var logit = ArgumentExceptionFrom(() => ChallengeScores.Compute(new[] { 0f, 0, 2.5f, 0, 0, 0 }, l, 1, 2, 3));
        Assert.Equal("probabilities", logit.ParamName);
        Assert.Contains("2.5, outside [0, 1]", logit.Message);

        var empty = ArgumentExceptionFrom(() => ChallengeScores.Compute(p, new byte[] { 0, 127, 0, 0, 0, 0 }, 1, 2, 3));
        Assert.Equal("labels", empty.ParamName);
        Assert.Contains("no label is above 127", empty.Message);

        Assert.Equal("threshold", Assert.Throws<ArgumentOutOfRangeException>(() => ChallengeScores.At(p, l, 1, 2, 3, double.NaN)).ParamName);
        Assert.Equal("threshold", Assert.Throws<ArgumentOutOfRangeException>(() => ChallengeScores.At(p, l, 1, 2, 3, 1.5)).ParamName);
    }

    [Fact]
    public void BadVolumes_AreRefused_NamingTheArgument()
    {
        var probabilities = new TiffVolume(1, 2, 3, new float[6]);
        var labels = new TiffVolume(1, 2, 3, Labels("###..."));
        var asBytes = ArgumentExceptionFrom(() => ChallengeScores.Compute(labels, labels));
        Assert.Equal(("prediction", true), (asBytes.ParamName, asBytes.Message.Contains("UInt8 samples")));
        Assert.Equal("labels", ArgumentExceptionFrom(() => ChallengeScores.Compute(probabilities, probabilities)).ParamName);
        Assert.Equal("labels", ArgumentExceptionFrom(() => ChallengeScores.Compute(probabilities, new TiffVolume(1, 2, 3, new ushort[6]))).ParamName);
        var pages = ArgumentExceptionFrom(() => ChallengeScores.Compute(probabilities, new TiffVolume(2, 2, 3, new byte[12])));
        Assert.Contains("1 page(s) of 3x2 but the labels 2 of 3x2", pages.Message);
        var size = ArgumentExceptionFrom(() => ChallengeScores.Compute(probabilities, new TiffVolume(1, 3, 2, new byte[6])));
        Assert.Contains("of 3x2 but the labels 1 of 2x3", size.Message);
    }

    [Fact]
    public void MatchesTheNumPyDefinition_OnRandomStacks()
    {
        PythonPeer.Require();
        string dir = Directory.CreateTempSubdirectory("challenge-scores-").FullName;
        try
        {
            foreach (int seed in new[] { 1, 2 })
            {
                var (probabilities, labels) = RandomStack(seed, pages: 3, height: 24, width: 32);
                string p = Path.Combine(dir, $"p{seed}.f32"), l = Path.Combine(dir, $"l{seed}.u8");
                File.WriteAllBytes(p, System.Runtime.InteropServices.MemoryMarshal.AsBytes<float>(probabilities).ToArray());
                File.WriteAllBytes(l, labels);
                using var peer = JsonDocument.Parse(PythonPeer.Run("challenge_scores_peer.py", p, l, "3", "24", "32"));
                double[] rand = peer.RootElement.GetProperty("v_rand").EnumerateArray().Select(e => e.GetDouble()).ToArray();
                double[] info = peer.RootElement.GetProperty("v_info").EnumerateArray().Select(e => e.GetDouble()).ToArray();
                var report = ChallengeScores.Compute(probabilities, labels, 3, 24, 32);
                for (int k = 0; k < 9; k++)
                {
                    output.WriteLine($"seed {seed} t {report.PerThreshold[k].Threshold}: V_rand {report.PerThreshold[k].VRand:F6} (NumPy {rand[k]:F6}), V_info {report.PerThreshold[k].VInfo:F6} (NumPy {info[k]:F6})");
                    Assert.Equal(rand[k], report.PerThreshold[k].VRand, 1e-12);
                    Assert.Equal(info[k], report.PerThreshold[k].VInfo, 1e-12);
                }
                Assert.True(rand.Distinct().Count() >= 5, "the thresholds give different segmentations");
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void RealIsbiLabels_AgainstThemselvesAndABlurredCopy()
    {
        string dir = Requirement.IsbiDirectory("the challenge scores were not tried on the real ISBI 2012 labels");
        // The six validation slices of the reference's fold 0.
        var all = Tiff.Read(Path.Combine(dir, "train-labels.tif"));
        var slices = CrossValidation.Split(0).Validation;
        int h = all.Height, w = all.Width, size = h * w;
        var labels = new byte[slices.Count * size];
        for (int k = 0; k < slices.Count; k++) all.PageUInt8(slices[k]).CopyTo(labels.AsSpan(k * size));

        var exact = labels.Select(v => v > 127 ? 1f : 0f).ToArray();
        var self = ChallengeScores.Compute(exact, labels, slices.Count, h, w);
        output.WriteLine($"fold-0 validation slices {string.Join(", ", slices)} against themselves: {self}");
        AssertAtEveryThreshold(self, 1, 1);

        // A 5×5 box blur of the binary labels: membranes thicken or thin with the threshold, and thin ones break.
        var blurred = new float[exact.Length];
        for (int page = 0; page < slices.Count; page++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                {
                    float sum = 0;
                    int n = 0;
                    for (int dy = -2; dy <= 2; dy++)
                        for (int dx = -2; dx <= 2; dx++)
                        {
                            int yy = y + dy, xx = x + dx;
                            if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
                            sum += exact[page * size + yy * w + xx];
                            n++;
                        }
                    blurred[page * size + y * w + x] = sum / n;
                }
        var clock = Stopwatch.StartNew();
        var report = ChallengeScores.Compute(blurred, labels, slices.Count, h, w);
        clock.Stop();
        output.WriteLine($"against a 5x5 box blur: {report}");
        foreach (var s in report.PerThreshold) output.WriteLine($"  t {s.Threshold:0.0}: V_rand {s.VRand:F4}, V_info {s.VInfo:F4}");
        string timing = $"scoring {slices.Count} slices of {w}x{h} at 9 thresholds, and at 11 after border thinning, took {clock.Elapsed.TotalMilliseconds:F0} ms";
        output.WriteLine(timing);
        Console.WriteLine(timing);
        Assert.All(report.PerThreshold, s => Assert.True(s.VRand is > 0 and < 1 && s.VInfo is > 0 and < 1, $"t {s.Threshold}: {s}"));
    }

    private static ArgumentException ArgumentExceptionFrom(Action action) => Assert.ThrowsAny<ArgumentException>(action);

    /// <summary>
    /// A small random stack with structure: membrane lines at random rows and columns and random
    /// membrane specks (label values spread over 0..127 and 128..255), and a noisy probability map
    /// that follows the labels loosely, with some samples exactly on thresholds (0.3, 0.5).
    /// </summary>
    internal static (float[] Probabilities, byte[] Labels) RandomStack(int seed, int pages, int height, int width)
    {
        var random = new Random(seed);
        var labels = new byte[pages * height * width];
        var probabilities = new float[labels.Length];
        for (int page = 0; page < pages; page++)
        {
            var rows = Enumerable.Range(0, 3).Select(_ => random.Next(height)).ToHashSet();
            var columns = Enumerable.Range(0, 3).Select(_ => random.Next(width)).ToHashSet();
            for (int y = 0; y < height; y++)
                for (int x = 0; x < width; x++)
                {
                    int k = (page * height + y) * width + x;
                    bool membrane = rows.Contains(y) || columns.Contains(x) || random.NextDouble() < 0.08;
                    labels[k] = (byte)(membrane ? random.Next(128) : 128 + random.Next(128));
                    double p = (membrane ? 0.25 : 0.75) + (random.NextDouble() - 0.5) * 0.9;
                    probabilities[k] = random.Next(50) switch
                    {
                        0 => 0.3f,
                        1 => 0.5f,
                        _ => (float)Math.Clamp(p, 0, 1),
                    };
                }
        }
        return (probabilities, labels);
    }
}
