using System.Diagnostics;
using System.Text.Json;
using UNet.Segmentation.Imaging;
using UNet.Segmentation.Scoring;
using UNet.Segmentation.Tests.Peer;
using UNet.Segmentation.Tests.Shared;

namespace UNet.Segmentation.Tests.Scoring;

/// <summary>
/// The thinned scores against tests/peer/thinned_scores_peer.py, a NumPy/SciPy implementation
/// written from Fiji's description in Fiji's own shape (the general grey-level flooding with its
/// MASK / INQUEUE / WSHED marks and global flag, SciPy's labelling, Fiji's normalized p_ij and its
/// precision and recall rules): the scores per threshold and per page, and the dam count of every
/// thinned page. Skipped with a printed reason without the peer (Python with NumPy and SciPy) or,
/// for the real slices, without ISBI2012_DIR.
/// </summary>
public sealed class ThinnedScoresPeerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("thinned-scores-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Returns when the peer runs with NumPy and SciPy; otherwise skips the test (fails it under UNET_REQUIRE_PEER=1).</summary>
    private static void RequirePeer()
    {
        PythonPeer.Require();
        var check = PythonPeer.Invoke("thinned_scores_peer.py", "--check");
        Requirement.SkipWhen(check.ExitCode != 0,
            $"the thinned-scores peer needs NumPy and SciPy (python3-scipy; scripts/setup.sh installs it): {check.Stderr.Trim()}", Requirement.Peer);
    }

    /// <summary>Runs the peer on a stack and checks the C# scores and dams against it within <paramref name="tolerance"/>.</summary>
    private void AssertMatchesPeer(string name, float[] probabilities, byte[] labels, int pages, int height, int width, double tolerance)
    {
        var (p, l) = ThinnedScoresTests.WriteRaw(_dir, name, probabilities, labels);
        using var peer = JsonDocument.Parse(PythonPeer.Run(TimeSpan.FromMinutes(10), "thinned_scores_peer.py", p, l, $"{pages}", $"{height}", $"{width}"));
        var root = peer.RootElement;
        double[] thresholds = root.GetProperty("thresholds").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        Assert.Equal(ThinnedScores.Thresholds, thresholds); // Python's float loop visits Java's doubles

        var report = ThinnedScores.Compute(probabilities, labels, pages, height, width);
        var thinning = new BorderThinning(height, width);
        int area = height * width;
        var interior = new byte[area];
        var segments = new int[area];
        for (int k = 0; k < thresholds.Length; k++)
        {
            var s = report.PerThreshold[k];
            double rand = root.GetProperty("v_rand")[k].GetDouble(), info = root.GetProperty("v_info")[k].GetDouble();
            Console.WriteLine($"{name} t {s.Threshold:R}: V_rand {s.VRand:F8} (peer {rand:F8}), V_info {s.VInfo:F8} (peer {info:F8})");
            Assert.Equal(rand, s.VRand, tolerance);
            Assert.Equal(info, s.VInfo, tolerance);
            for (int page = 0; page < pages; page++)
            {
                for (int q = 0; q < area; q++) interior[q] = probabilities[page * area + q] > thresholds[k] ? (byte)1 : (byte)0;
                thinning.Thin(interior, segments);
                Assert.Equal(root.GetProperty("dams")[k][page].GetInt32(), segments.Count(v => v == 0));
                var one = ThinnedScores.At(probabilities.AsSpan(page * area, area), labels.AsSpan(page * area, area), 1, height, width, thresholds[k]);
                Assert.Equal(PageValue(root, "v_rand_pages", k, page), one.VRand, tolerance);
                Assert.Equal(PageValue(root, "v_info_pages", k, page), one.VInfo, tolerance);
            }
        }
    }

    /// <summary>A page's score from the peer; its null (Fiji's 0 / 0) is 0 here.</summary>
    private static double PageValue(JsonElement root, string key, int k, int page) =>
        root.GetProperty(key)[k][page] is { ValueKind: JsonValueKind.Number } v ? v.GetDouble() : 0;

    [Fact]
    public void MatchesTheFijiPeer_OnRandomStacks()
    {
        RequirePeer();
        foreach (int seed in new[] { 1, 2, 3 })
        {
            var (probabilities, labels) = ChallengeScoresTests.RandomStack(seed, pages: 3, height: 24, width: 32);
            for (int k = 0; k < labels.Length; k++) labels[k] = labels[k] > 127 ? (byte)255 : (byte)0; // Fiji reads L > t: 0/255 as the challenge's
            AssertMatchesPeer($"random{seed}", probabilities, labels, 3, 24, 32, 1e-12);
        }
    }

    [Fact]
    public void MatchesTheFijiPeer_OnRealIsbiSlices_AndScoresThirtyQuickly()
    {
        string dir = Requirement.IsbiDirectory("the thinned scores were not compared with the peer on real ISBI 2012 slices");
        var all = Tiff.Read(Path.Combine(dir, "train-labels.tif"));
        int h = all.Height, w = all.Width, area = h * w;
        var allLabels = all.GetUInt8().ToArray();
        // The labels as a certain prediction: every slice's basins are its true segments: 1 and 1.
        var self = ThinnedScores.Compute(allLabels.Select(l => l > 127 ? 1f : 0f).ToArray(), allLabels, all.PageCount, h, w);
        Console.WriteLine($"all {all.PageCount} slices against themselves: {self}");
        Assert.All(self.PerThreshold, s => Assert.Equal((1.0, 1.0), (Math.Round(s.VRand, 12), Math.Round(s.VInfo, 12))));

        RequirePeer();
        var allMaps = SmoothedNoisyMaps(allLabels, all.PageCount, h, w, seed: 2012);

        int[] slices = [0, 12, 25];
        var labels = new byte[slices.Length * area];
        var maps = new float[slices.Length * area];
        for (int i = 0; i < slices.Length; i++)
        {
            allLabels.AsSpan(slices[i] * area, area).CopyTo(labels.AsSpan(i * area));
            allMaps.AsSpan(slices[i] * area, area).CopyTo(maps.AsSpan(i * area));
        }
        AssertMatchesPeer("isbi", maps, labels, slices.Length, h, w, 1e-6);

        var clock = Stopwatch.StartNew();
        var report = ThinnedScores.Compute(allMaps, allLabels, all.PageCount, h, w);
        clock.Stop();
        Console.WriteLine($"all {all.PageCount} slices, smoothed and noised labels: {report}");
        Console.WriteLine($"thinned scores of {all.PageCount} slices of {w}x{h} at {ThinnedScores.Thresholds.Count} thresholds took {clock.Elapsed.TotalSeconds:F2} s");
        Assert.InRange(report.VRand, 0.5, 1);
        Assert.InRange(report.VInfo, 0.5, 1);
    }

    /// <summary>
    /// A deterministic stand-in for a model's maps: each page's binary labels blurred by a 5×5 box,
    /// plus uniform noise of ±0.2, clamped to [0, 1] (so exact 0s and 1s occur), and every 97th pixel
    /// set to one of 0.1f, 0.3f, 0.5f, 1f (values on or next to the thresholds).
    /// </summary>
    internal static float[] SmoothedNoisyMaps(byte[] labels, int pages, int height, int width, int seed)
    {
        var random = new Random(seed);
        var maps = new float[labels.Length];
        float[] special = [0.1f, 0.3f, 0.5f, 1f];
        for (int page = 0; page < pages; page++)
            for (int y = 0; y < height; y++)
                for (int x = 0; x < width; x++)
                {
                    float sum = 0;
                    int n = 0;
                    for (int yy = Math.Max(0, y - 2); yy <= Math.Min(height - 1, y + 2); yy++)
                        for (int xx = Math.Max(0, x - 2); xx <= Math.Min(width - 1, x + 2); xx++, n++)
                            sum += labels[(page * height + yy) * width + xx] > 127 ? 1 : 0;
                    int k = (page * height + y) * width + x;
                    double noisy = sum / n + (random.NextDouble() - 0.5) * 0.4;
                    maps[k] = k % 97 == 0 ? special[k / 97 % 4] : (float)Math.Clamp(noisy, 0, 1);
                }
        return maps;
    }
}
