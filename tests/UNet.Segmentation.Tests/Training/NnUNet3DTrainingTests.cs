using UNet.Segmentation.Data;
using UNet.Segmentation.Data.Msd;
using UNet.Segmentation.Model.NnUNet;
using UNet.Segmentation.Scoring;
using UNet.Segmentation.Training;
using static TorchSharp.torch;

namespace UNet.Segmentation.Tests.Training;

/// <summary>
/// The 3-D nnU-Net learns the synthetic MSD task (issue 26: held-out Dice ≥ 0.8 in a short CPU run):
/// the configuration of docs/nnunet-training.md's synthetic run (patch 32³, 16 filters, Adam 8e-4,
/// batch 2), cut to 500 steps (under a minute of training on the 2-core VM), scored on whole
/// held-out volumes through the sliding window.
/// </summary>
public sealed class NnUNet3DTrainingTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("nnunet-3d-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void ShortThreeDRun_LearnsTheSyntheticTask_OnHeldOutVolumes()
    {
        var task = SyntheticMsd.Generate(Path.Combine(_dir, "task"), new SyntheticMsdOptions { TestCases = 0 });
        var prepared = MsdCache.Prepare(task, Path.Combine(_dir, "cache"), new MsdPreprocessingOptions { PatchSize = new Shape3D(32, 32, 32) }, TestContext.Current.CancellationToken);
        var data = MsdTrainingData.Load(prepared);
        data.Regions = DiceRegion.MsdBrainTumour;
        Assert.Equal(3, data.SpatialDims);
        manual_seed(5);
        using var model = new NnUNetModel(NnUNetPlan.For([32, 32, 32], prepared.Plan.TargetSpacing, data.Channels, data.Classes) with { BaseFilters = 16 });
        using var trainer = Trainer.For(model).WithAdam(8e-4).WithWeightDecay(1e-4).WithSteps(500, 2).WithSeed(3).WithLogging(100).Build();
        var fold = new FoldSplit(0, [0, 1, 2, 3], [4, 5]);
        var result = trainer.Fit(data, fold, cancellation: TestContext.Current.CancellationToken);

        var metrics = result.FinalEvaluation!.Metrics;
        TestContext.Current.SendDiagnosticMessage($"3-D nnU-Net after {result.Steps} steps: held-out Dice {metrics.ReferenceDice:F4}, WT {metrics.RegionDice!["WT"]:F4}, TC {metrics.RegionDice["TC"]:F4}, ET {metrics.RegionDice["ET"]:F4}");
        Assert.Equal(500, result.Steps);
        // Two whole held-out volumes, every voxel predicted and scored.
        Assert.Equal(2, metrics.Samples);
        Assert.Equal(data.Cases[4].Image.Shape.Voxels + data.Cases[5].Image.Shape.Voxels, metrics.Pixels);
        // An untrained network (or one that predicts background everywhere) scores near 0 on the tumour classes.
        Assert.True(metrics.ReferenceDice >= 0.8, $"held-out foreground Dice {metrics.ReferenceDice:F4} after {result.Steps} steps: {metrics}");
        Assert.True(metrics.RegionDice!["WT"] >= 0.8, $"WT {metrics.RegionDice["WT"]:F4}");
    }
}
