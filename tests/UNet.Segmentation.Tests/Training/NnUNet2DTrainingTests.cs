using UNet.Segmentation.Data;
using UNet.Segmentation.Data.Msd;
using UNet.Segmentation.Model.NnUNet;
using UNet.Segmentation.Scoring;
using UNet.Segmentation.Training;
using static TorchSharp.torch;

namespace UNet.Segmentation.Tests.Training;

/// <summary>nnU-Net's 2-D configuration: patches of axial slices through the same Trainer, evaluated slice by slice on whole held-out volumes.</summary>
public sealed class NnUNet2DTrainingTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("nnunet-2d-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void TinyTwoDRun_LearnsTheSyntheticTask_OnHeldOutVolumes()
    {
        var task = SyntheticMsd.Generate(Path.Combine(_dir, "task"), new SyntheticMsdOptions { TrainingCases = 6, TestCases = 0, Size = new Shape3D(16, 32, 32) });
        var prepared = MsdCache.Prepare(task, Path.Combine(_dir, "cache"), new MsdPreprocessingOptions { PatchSize = new Shape3D(1, 32, 32) }, TestContext.Current.CancellationToken);
        var data = MsdTrainingData.Load(prepared, MsdAugmentationOptions.Reference, spatialDims: 2);
        data.Regions = DiceRegion.MsdBrainTumour;
        Assert.Equal(2, data.SpatialDims);
        manual_seed(11);
        using var model = new NnUNetModel(NnUNetPlan.For([32, 32], [1.0, 1.0], data.Channels, data.Classes) with { BaseFilters = 8, MaxFilters = 32 });
        using var trainer = Trainer.For(model).WithAdam(3e-3).WithWeightDecay(0).WithSteps(240, 8).WithSeed(4).WithLogging(60).Build();
        var fold = new FoldSplit(0, [0, 1, 2, 3], [4, 5]);
        var result = trainer.Fit(data, fold, cancellation: TestContext.Current.CancellationToken);

        var metrics = result.FinalEvaluation!.Metrics;
        // Two whole held-out volumes, every voxel predicted (slice by slice) and scored.
        Assert.Equal(2, metrics.Samples);
        Assert.Equal(data.Cases[4].Image.Shape.Voxels + data.Cases[5].Image.Shape.Voxels, metrics.Pixels);
        // Chance (all background, or classes guessed voxel by voxel) scores near 0 on the tumour classes.
        Assert.True(metrics.ReferenceDice > 0.8, $"held-out foreground Dice {metrics.ReferenceDice:F4} after {result.Steps} steps: {metrics}");
        Assert.True(metrics.RegionDice!["WT"] > 0.7, $"WT {metrics.RegionDice["WT"]:F4}");
    }
}
