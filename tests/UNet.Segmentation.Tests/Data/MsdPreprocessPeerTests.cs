using System.Text.Json.Nodes;
using UNet.Segmentation.Data;
using UNet.Segmentation.Data.Msd;
using UNet.Segmentation.Tests.Peer;

namespace UNet.Segmentation.Tests.Data;

/// <summary>
/// The preprocessing against tests/peer/msd_preprocess_peer.py: the same steps in NumPy and
/// SciPy (<c>map_coordinates(order=1, mode="nearest")</c>), on synthetic tasks read by nibabel.
/// </summary>
public sealed class MsdPreprocessPeerTests(ITestOutputHelper output)
{
    public static TheoryData<string> Variants => ["mri-isotropic", "mri-anisotropic", "ct"];

    private static SyntheticMsdOptions Options(string variant) => variant switch
    {
        "mri-isotropic" => new() { TrainingCases = 4, TestCases = 0, Size = new(28, 30, 26), SpacingJitter = 0.15, Seed = 11 },
        "mri-anisotropic" => new() { TrainingCases = 4, TestCases = 0, Size = new(14, 36, 34), Spacing = SyntheticMsdOptions.AnisotropicSpacing, SpacingJitter = 0.2, Seed = 12 },
        "ct" => new() { TrainingCases = 4, TestCases = 0, Size = new(24, 28, 30), Ct = true, SpacingJitter = 0.15, Seed = 13 },
        _ => throw new ArgumentOutOfRangeException(nameof(variant)),
    };

    [Theory]
    [MemberData(nameof(Variants))]
    public void Preprocessing_AgreesWithNumpyAndScipy(string variant)
    {
        PythonPeer.Require();
        using var temp = new MsdTempTask(Options(variant));
        var patch = new Shape3D(24, 40, 32);
        var prepared = MsdCache.Prepare(temp.Task, Path.Combine(temp.Root, "cache"), new MsdPreprocessingOptions { PatchSize = patch }, TestContext.Current.CancellationToken);
        string peerOut = Path.Combine(temp.Root, "peer");
        string stdout = PythonPeer.Run("msd_preprocess_peer.py", "task", temp.Folder, peerOut, $"{patch.Depth},{patch.Height},{patch.Width}");
        output.WriteLine(stdout.Trim());

        var plan = JsonNode.Parse(File.ReadAllText(Path.Combine(peerOut, "plan.json")))!;
        var target = plan["targetSpacing"]!.AsArray().Select(n => (double)n!).ToArray();
        for (int a = 0; a < 3; a++) Assert.Equal(target[a], prepared.Plan.TargetSpacing[a], tolerance: 1e-12);
        if (temp.Task.IsCt)
        {
            var ct = plan["ct"]!;
            var ours = prepared.Plan.CtStatistics!;
            Assert.Equal((double)ct["min"]!, ours.Min, tolerance: 1e-6 * Math.Max(1, Math.Abs(ours.Min)));
            Assert.Equal((double)ct["max"]!, ours.Max, tolerance: 1e-6 * Math.Max(1, Math.Abs(ours.Max)));
            Assert.Equal((double)ct["mean"]!, ours.Mean, tolerance: 1e-6 * Math.Max(1, Math.Abs(ours.Mean)));
            Assert.Equal((double)ct["std"]!, ours.Std, tolerance: 1e-6 * Math.Max(1, Math.Abs(ours.Std)));
        }

        int resampled = 0;
        double worst = 0;
        foreach (var item in prepared.Cases)
        {
            var meta = JsonNode.Parse(File.ReadAllText(Path.Combine(peerOut, item.Id + ".json")))!;
            var p = item.Properties;
            Assert.Equal(Ints(meta["cropStart"]), new[] { p.CropBox.StartZ, p.CropBox.StartY, p.CropBox.StartX });
            Assert.Equal(Ints(meta["cropEnd"]), new[] { p.CropBox.EndZ, p.CropBox.EndY, p.CropBox.EndX });
            Assert.Equal(Ints(meta["resampledShape"]), p.ResampledShape.ToArray());
            Assert.Equal((int?)meta["coarseAxis"], p.CoarseAxis);
            Assert.Equal(Ints(meta["paddingBefore"]), p.PaddingBefore);
            Assert.Equal(Ints(meta["shape"]), p.Shape.ToArray());
            if (p.ResampledShape != p.CropBox.Shape) resampled++;

            var (image, labels) = item.Load();
            float[] peerImage = ReadFloats(Path.Combine(peerOut, item.Id + ".f32"));
            byte[] peerLabels = File.ReadAllBytes(Path.Combine(peerOut, item.Id + ".u8"));
            Assert.Equal(peerImage.Length, image.Data.Length);
            Assert.Equal(peerLabels.Length, labels.Data.Length);
            double scale = peerImage.Max(v => Math.Abs(v)), diff = 0;
            for (int i = 0; i < peerImage.Length; i++) diff = Math.Max(diff, Math.Abs(peerImage[i] - image.Data[i]));
            int mismatched = peerLabels.Where((v, i) => v != labels.Data[i]).Count();
            output.WriteLine($"{item.Id}: spacing ({string.Join(", ", p.OriginalSpacing)}) → {p.ResampledShape}, coarse axis {p.CoarseAxis?.ToString() ?? "none"}; image max |Δ| {diff:G3} (relative to max |x| {scale:G4}: {diff / scale:G3}); labels differing {mismatched}/{peerLabels.Length}");
            worst = Math.Max(worst, diff / scale);
            Assert.True(diff / scale <= 1e-5, $"{item.Id}: image differs by {diff} (relative {diff / scale})");
            Assert.Equal(0, mismatched);
        }
        output.WriteLine($"worst relative image difference {worst:G3}");
        Assert.True(resampled > 0, "no case was resampled, so the comparison did not cover resampling");
    }

    [Fact]
    public void Folds_AreScikitLearnsKFoldOverSortedCases()
    {
        PythonPeer.Require();
        foreach (int n in new[] { 5, 12, 484 })
        {
            var peer = JsonNode.Parse(PythonPeer.Run("msd_preprocess_peer.py", "folds", n.ToString(System.Globalization.CultureInfo.InvariantCulture), "5", "12345"))!.AsArray();
            for (int fold = 0; fold < 5; fold++)
            {
                var split = MsdFolds.Split(fold, n);
                Assert.Equal(Ints(peer[fold]![0]), split.Training);
                Assert.Equal(Ints(peer[fold]![1]), split.Validation);
            }
        }
    }

    private static int[] Ints(JsonNode? node) => node!.AsArray().Select(n => (int)n!).ToArray();

    private static float[] ReadFloats(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        var values = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, values, 0, bytes.Length);
        return values;
    }
}
