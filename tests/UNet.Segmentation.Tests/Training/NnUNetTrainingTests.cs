using UNet.Segmentation.Data;
using UNet.Segmentation.Data.Msd;
using UNet.Segmentation.Model.NnUNet;
using UNet.Segmentation.Scoring;
using UNet.Segmentation.Training;
using static TorchSharp.torch;

namespace UNet.Segmentation.Tests.Training;

/// <summary>
/// The nnU-Net learns the synthetic MSD task through the same Trainer (issue 26: held-out Dice ≥ 0.8
/// in a short CPU run), scored on two whole held-out volumes (cases 4 and 5) through the sliding
/// window: the 3-D configuration of docs/nnunet-training.md's synthetic run (patch 32³, 16 filters,
/// Adam 8e-4, batch 2) cut to 500 steps, and the 2-D one on patches of axial slices, evaluated
/// slice by slice.
/// </summary>
public sealed class NnUNetTrainingTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("nnunet-training-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void ShortThreeDRun_LearnsTheSyntheticTask_OnHeldOutVolumes()
    {
        var metrics = Fit(new SyntheticMsdOptions { TestCases = 0 }, new Shape3D(32, 32, 32), spatialDims: 3, seed: 5,
            (prepared, data) => NnUNetPlan.For([32, 32, 32], prepared.Plan.TargetSpacing, data.Channels, data.Classes) with { BaseFilters = 16 },
            model => Trainer.For(model).WithAdam(8e-4).WithWeightDecay(1e-4).WithSteps(500, 2).WithSeed(3).WithLogging(100).Build());
        Assert.True(metrics.RegionDice!["WT"] >= 0.8, $"WT {metrics.RegionDice["WT"]:F4}");
    }

    [Fact]
    public void TinyTwoDRun_LearnsTheSyntheticTask_OnHeldOutVolumes()
    {
        var metrics = Fit(new SyntheticMsdOptions { TrainingCases = 6, TestCases = 0, Size = new Shape3D(16, 32, 32) }, new Shape3D(1, 32, 32), spatialDims: 2, seed: 11,
            (_, data) => NnUNetPlan.For([32, 32], [1.0, 1.0], data.Channels, data.Classes) with { BaseFilters = 8, MaxFilters = 32 },
            model => Trainer.For(model).WithAdam(3e-3).WithWeightDecay(0).WithSteps(240, 8).WithSeed(4).WithLogging(60).Build());
        Assert.True(metrics.RegionDice!["WT"] > 0.7, $"WT {metrics.RegionDice["WT"]:F4}");
    }

    /// <summary>Generates and prepares the task, trains on cases 0–3, and returns the final evaluation on the whole volumes 4 and 5 (asserted ≥ 0.8 foreground Dice).</summary>
    private SegmentationMetrics Fit(SyntheticMsdOptions synthetic, Shape3D patch, int spatialDims, int seed,
        Func<MsdPreparedData, MsdTrainingData, NnUNetOptions> plan, Func<NnUNetModel, Trainer> trainerFor)
    {
        var task = SyntheticMsd.Generate(Path.Combine(_dir, "task"), synthetic);
        var prepared = MsdCache.Prepare(task, Path.Combine(_dir, "cache"), new MsdPreprocessingOptions { PatchSize = patch }, TestContext.Current.CancellationToken);
        var data = spatialDims == 2 ? MsdTrainingData.Load(prepared, MsdAugmentationOptions.Reference, spatialDims: 2) : MsdTrainingData.Load(prepared);
        data.Regions = DiceRegion.MsdBrainTumour;
        Assert.Equal(spatialDims, data.SpatialDims);
        manual_seed(seed);
        using var model = new NnUNetModel(plan(prepared, data));
        using var trainer = trainerFor(model);
        var result = trainer.Fit(data, new FoldSplit(0, [0, 1, 2, 3], [4, 5]), cancellation: TestContext.Current.CancellationToken);

        Assert.Equal(trainer.Options.MaxSteps, result.Steps);
        var metrics = result.FinalEvaluation!.Metrics;
        TestContext.Current.SendDiagnosticMessage($"{spatialDims}-D nnU-Net after {result.Steps} steps: held-out Dice {metrics.ReferenceDice:F4}, WT {metrics.RegionDice!["WT"]:F4}, TC {metrics.RegionDice["TC"]:F4}, ET {metrics.RegionDice["ET"]:F4}");
        // Two whole held-out volumes, every voxel predicted and scored.
        Assert.Equal(2, metrics.Samples);
        Assert.Equal(data.Cases[4].Image.Shape.Voxels + data.Cases[5].Image.Shape.Voxels, metrics.Pixels);
        // An untrained network (or one that predicts background everywhere) scores near 0 on the tumour classes.
        Assert.True(metrics.ReferenceDice >= 0.8, $"held-out foreground Dice {metrics.ReferenceDice:F4} after {result.Steps} steps: {metrics}");
        return metrics;
    }
}
