using TorchSharp;
using UNet.Segmentation.Data;
using UNet.Segmentation.Data.Msd;
using UNet.Segmentation.Model.NnUNet;
using UNet.Segmentation.Training;
using static TorchSharp.torch;

namespace UNet.Segmentation.Tests.Training;

/// <summary>The nnU-Net's training adapter: its forward pass and loss on synthetic MSD batches.</summary>
public class NnUNetTrainableNetworkTests(ITestOutputHelper output)
{
    private static NnUNetOptions Tiny(int channels, int classes) =>
        NnUNetPlan.For([16, 16, 16], [1.0, 1.0, 1.0], inputChannels: channels, classes: classes, minFeatureMap: 2) with { BaseFilters = 4, MaxFilters = 16 };

    [Fact]
    public void TrainingForward_GivesTheStackedOutputsAndTheMainLogits()
    {
        using var scope = NewDisposeScope();
        manual_seed(1);
        using var model = new NnUNetModel(Tiny(2, 3));
        var network = TrainableNetwork.Of(model);
        Assert.Equal(3, network.SpatialDims);
        var images = randn(new long[] { 2, 2, 16, 16, 16 });
        var (forLoss, logits) = network.TrainingForward(images);
        Assert.Equal(new long[] { 2, 1 + model.Options.DeepSupervisionHeads, 3, 16, 16, 16 }, forLoss.shape);
        Assert.Equal(new long[] { 2, 3, 16, 16, 16 }, logits.shape);
        Assert.True(logits.allclose(model.forward(images), rtol: 1e-5, atol: 1e-6));
        var e = Assert.Throws<ArgumentException>(() => network.TrainingForward(randn(2, 2, 16, 16)));
        Assert.Contains("[2, 2, 16, 16]", e.Message);
        Assert.Contains("N×C×D×H×W", e.Message);
    }

    [Fact]
    public void DeepSupervisionLoss_FallsOnSyntheticBrainPatches()
    {
        using var scope = NewDisposeScope();
        string root = Directory.CreateTempSubdirectory("nnunet-adapter-").FullName;
        try
        {
            var task = SyntheticMsd.Generate(Path.Combine(root, "task"), new SyntheticMsdOptions { TrainingCases = 2, TestCases = 0, Size = new Shape3D(24, 24, 24) });
            var data = MsdCache.Prepare(task, Path.Combine(root, "cache"), new MsdPreprocessingOptions { PatchSize = new Shape3D(16, 16, 16) }, TestContext.Current.CancellationToken);
            var cases = data.Cases.Select(c => c.Load()).ToList();
            var batches = new MsdTrainingBatches(cases, new MsdPatchSampler(data.Plan.PatchSize, 0.33), MsdAugmentationOptions.None, seed: 4);
            manual_seed(2);
            using var model = new NnUNetModel(Tiny(data.Plan.Channels, data.Plan.Classes));
            var network = TrainableNetwork.Of(model);
            using var adam = optim.Adam(model.parameters(), 3e-3);
            var losses = new List<double>();
            for (int step = 0; step < 24; step++)
            {
                using var stepScope = NewDisposeScope();
                var (images, labels) = batches.Batch(step, 2);
                adam.zero_grad();
                var (forLoss, _) = network.TrainingForward(images);
                var loss = network.DefaultLoss(forLoss, labels);
                loss.backward();
                adam.step();
                losses.Add(loss.item<float>());
            }
            output.WriteLine(string.Join(" ", losses.Select(l => l.ToString("F3"))));
            double first = losses.Take(4).Average(), last = losses.TakeLast(4).Average();
            Assert.True(last < 0.8 * first, $"the loss went from {first:F3} (first 4 steps) to {last:F3} (last 4)");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
