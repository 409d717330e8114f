using System.Text.Json;
using UNet.Segmentation.Data.Msd;
using UNet.Segmentation.Inference.NnUNet;
using UNet.Segmentation.Model.NnUNet;
using UNet.Segmentation.Scoring;
using UNet.Segmentation.Tests.Model;
using UNet.Segmentation.Tests.Shared;
using static TorchSharp.torch;

namespace UNet.Segmentation.Tests.Inference.NnUNet;

/// <summary>
/// <see cref="NnUNetEvaluation"/> (cases scored through the sliding window) and the 2-D network's
/// slice-by-slice volume prediction.
/// </summary>
[Collection("LiveTensors")]
public sealed class NnUNetEvaluationTests
{
    // An identity "network": the image's channels are the logits, so the prediction is whatever map the test writes into them.
    private static NnUNetSlidingWindow IdentityWindow(int classes, int[] window) =>
        new(nn.Identity(), window, classes, classes, new NnUNetPredictionOptions { Overlap = 0.5 });

    private static Volume<float> LogitsOf(byte[] map, int classes, Shape3D shape)
    {
        var data = new float[classes * map.Length];
        for (int i = 0; i < map.Length; i++) data[map[i] * map.Length + i] = 10f;
        return new Volume<float>(data, classes, shape);
    }

    private static double Dice(byte[] p, byte[] t, Func<int, bool> inside)
    {
        int both = 0, np = 0, nt = 0;
        for (int i = 0; i < p.Length; i++)
        {
            if (inside(p[i])) np++;
            if (inside(t[i])) nt++;
            if (inside(p[i]) && inside(t[i])) both++;
        }
        return nt == 0 ? (np == 0 ? 1 : 0) : 2.0 * both / (np + nt);
    }

    [Fact]
    public void Scores_AreTheMeansOverTheCasesOfEachCasesDice_ByClassAndByRegion()
    {
        var shape = new Shape3D(3, 10, 12);
        var random = new Random(5);
        var cases = new List<(Volume<float>, Volume<byte>)>();
        var maps = new List<(byte[] Predicted, byte[] Truth)>();
        for (int k = 0; k < 3; k++)
        {
            var truth = new byte[shape.Voxels];
            for (int i = 0; i < truth.Length; i++) truth[i] = (byte)(i % 12 < 4 ? 0 : 1 + (i / 12 + k) % (k == 2 ? 2 : 3)); // case 2 has no class 3
            var predicted = truth.Select(v => random.NextDouble() < 0.2 ? (byte)random.Next(k == 2 ? 3 : 4) : v).ToArray();
            cases.Add((LogitsOf(predicted, 4, shape), new Volume<byte>(truth, 1, shape)));
            maps.Add((predicted, truth));
        }
        using var window = IdentityWindow(4, [2, 8, 8]);
        var e = NnUNetEvaluation.Run(window, cases, [0, 1, 2], 4, DiceRegion.MsdBrainTumour, TestContext.Current.CancellationToken);

        Assert.Equal(3, e.Cases.Count);
        for (int c = 1; c < 4; c++)
            Assert.Equal(maps.Average(m => Dice(m.Predicted, m.Truth, v => v == c)), e.ClassDice[c - 1], 12);
        Assert.Equal(maps.Average(m => Dice(m.Predicted, m.Truth, v => v >= 1)), e.Metrics.RegionDice!["WT"], 12);
        Assert.Equal(maps.Average(m => Dice(m.Predicted, m.Truth, v => v >= 2)), e.Metrics.RegionDice!["TC"], 12);
        Assert.Equal(maps.Average(m => Dice(m.Predicted, m.Truth, v => v == 3)), e.Metrics.RegionDice!["ET"], 12);
        Assert.Equal(e.ClassDice.Average(), e.Metrics.ReferenceDice, 12);
        Assert.Equal(e.ClassDice, e.Metrics.CaseDicePerClass);
        Assert.Equal(3 * shape.Voxels, e.Metrics.Pixels);
        Assert.Equal(maps.Sum(m => m.Predicted.Zip(m.Truth).Count(z => z.First == z.Second)) / (double)(3 * shape.Voxels), e.Metrics.PixelAccuracy, 12);
        // Voxel counts over all cases (background included) for the hard Dice.
        Assert.Equal(Dice(maps.SelectMany(m => m.Predicted).ToArray(), maps.SelectMany(m => m.Truth).ToArray(), v => v == 0), e.Metrics.HardDicePerClass[0], 12);
    }

    [Fact]
    public void WriteMetrics_NamesClassesRegionsAndCases()
    {
        var shape = new Shape3D(2, 8, 8);
        var truth = Enumerable.Range(0, shape.Voxels).Select(i => (byte)(i % 4)).ToArray();
        using var window = IdentityWindow(4, [2, 8, 8]);
        var e = NnUNetEvaluation.Run(window, [(LogitsOf(truth, 4, shape), new Volume<byte>(truth, 1, shape))], [0], 4, DiceRegion.MsdBrainTumour, TestContext.Current.CancellationToken);
        string dir = Directory.CreateTempSubdirectory("nnunet-eval-").FullName;
        try
        {
            string path = e.WriteMetrics(dir, 1, 40, ["BRATS_007"], SyntheticMsd.MriLabels, window.Options);
            using var json = JsonDocument.Parse(File.ReadAllText(path));
            var root = json.RootElement;
            Assert.Equal(1.0, root.GetProperty("dice").GetDouble());
            Assert.Equal(1.0, root.GetProperty("dice_per_class").GetProperty("enhancing tumour").GetDouble());
            Assert.Equal(1.0, root.GetProperty("regions").GetProperty("TC").GetDouble());
            Assert.Equal("BRATS_007", root.GetProperty("cases")[0].GetProperty("id").GetString());
            Assert.Equal(40, root.GetProperty("steps").GetInt64());
            Assert.Equal(0.5, root.GetProperty("predictor").GetProperty("sliding_window_overlap").GetDouble());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void TwoDNetwork_PredictsAVolumeSliceBySlice()
    {
        random.manual_seed(3);
        using var model = new NnUNetModel(NnUNetModelTests.Small2D with { DeepSupervision = false });
        using var window = new NnUNetSlidingWindow(model, new NnUNetPredictionOptions { Overlap = 0.5 });
        var shape = new Shape3D(3, 40, 30); // larger than the 32×24 window in the plane: several windows per slice
        var rng = new Random(1);
        var image = new Volume<float>(Enumerable.Range(0, shape.Voxels).Select(_ => (float)rng.NextDouble()).ToArray(), 1, shape);
        long before = LiveTensors.SettledCount();
        var volume = window.PredictProbabilities(image);
        Assert.Equal(before, LiveTensors.SettledCount());
        Assert.Equal(2, volume.Channels);
        Assert.Equal(shape, volume.Shape);
        using var scope = NewDisposeScope();
        var all = tensor(image.Data, [1, shape.Depth, shape.Height, shape.Width]);
        var predicted = tensor(volume.Data, [2, shape.Depth, shape.Height, shape.Width]);
        for (int z = 0; z < shape.Depth; z++)
        {
            var slice = window.PredictProbabilities(all.select(1, z));
            Assert.True(slice.allclose(predicted.select(1, z), rtol: 0, atol: 1e-6), $"slice {z} differs");
        }
    }

    [Fact]
    public void BadInput_IsRefusedNamingIt()
    {
        using var window = IdentityWindow(4, [2, 8, 8]);
        var shape = new Shape3D(2, 8, 8);
        var image = new Volume<float>(new float[4 * shape.Voxels], 4, shape);
        var labels = new Volume<byte>(new byte[shape.Voxels], 1, shape);
        var token = TestContext.Current.CancellationToken;
        Assert.Contains("no case", Assert.Throws<ArgumentException>(() => NnUNetEvaluation.Run(window, [(image, labels)], [], 4, cancellation: token)).Message);
        Assert.Contains("case 3", Assert.Throws<ArgumentException>(() => NnUNetEvaluation.Run(window, [(image, labels)], [3], 4, cancellation: token)).Message);
        var wrongChannels = new Volume<float>(new float[shape.Voxels], 1, shape);
        Assert.Contains("channel", Assert.Throws<ArgumentException>(() => window.PredictProbabilities(wrongChannels)).Message);
    }
}
