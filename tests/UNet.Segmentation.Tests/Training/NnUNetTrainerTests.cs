using TorchSharp;
using UNet.Segmentation.Data;
using UNet.Segmentation.Data.Msd;
using UNet.Segmentation.Model;
using UNet.Segmentation.Model.NnUNet;
using UNet.Segmentation.Training;
using Precision = UNet.Segmentation.Training.Precision;
using static TorchSharp.torch;

namespace UNet.Segmentation.Tests.Training;

/// <summary>A tiny 3-D nnU-Net trained through the Trainer's loop on synthetic MSD patches.</summary>
public sealed class NnUNetTrainerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("nnunet-trainer-").FullName;
    private readonly MsdTrainingData _data;
    private readonly MsdPreparedData _prepared;

    public NnUNetTrainerTests()
    {
        var task = SyntheticMsd.Generate(Path.Combine(_dir, "task"), new SyntheticMsdOptions { TrainingCases = 3, TestCases = 0, Size = new Shape3D(24, 24, 24) });
        _prepared = MsdCache.Prepare(task, Path.Combine(_dir, "cache"), new MsdPreprocessingOptions { PatchSize = new Shape3D(16, 16, 16) });
        _data = MsdTrainingData.Load(_prepared);
    }

    private NnUNetOptions Tiny => NnUNetPlan.For([16, 16, 16], [1.0, 1.0, 1.0], inputChannels: _data.Channels, classes: _data.Classes, minFeatureMap: 2) with { BaseFilters = 4, MaxFilters = 16 };

    private static TrainerBuilder Configure(NnUNetModel model) =>
        Trainer.For(model).WithSteps(6, 2).WithAdam(3e-3).WithWeightDecay(0).WithSeed(7).WithLogging(1);

    [Theory]
    [InlineData(Precision.Float32)]
    [InlineData(Precision.BFloat16)]
    public void ResumedRun_ReachesTheSameWeightsAsAnUnbrokenOne(Precision precision)
    {
        string unbroken = Path.Combine(_dir, "a"), broken = Path.Combine(_dir, "b");
        var fold = FoldSplit.All(_data.Count);
        var token = TestContext.Current.CancellationToken;
        manual_seed(5);
        using var a = new NnUNetModel(Tiny);
        using (var t = Configure(a).WithMixedPrecision(precision).WithCheckpoints(unbroken, every: 3).Build())
        {
            var result = t.Fit(_data, fold, cancellation: token);
            Assert.Equal(6, result.Steps);
            Assert.Contains("nnU-Net", t.LossName);
        }

        manual_seed(5);
        using (var b = new NnUNetModel(Tiny))
        using (var t = Configure(b).WithMixedPrecision(precision).WithSteps(3, 2).WithCheckpoints(broken, every: 3).Build())
            Assert.Equal(3, t.Fit(_data, fold, cancellation: token).Steps);

        manual_seed(99); // another initialisation: the checkpoint must overwrite it
        using var c = new NnUNetModel(Tiny);
        using (var t = Configure(c).WithMixedPrecision(precision).WithCheckpoints(broken, every: 3).Build())
            Assert.Equal(6, t.Fit(_data, fold, cancellation: token).Steps);
        int compared = 0;
        foreach (var ((name, pa), (_, pc)) in a.named_parameters().Zip(c.named_parameters()))
        {
            Assert.True(pa.allclose(pc, rtol: 0, atol: 1e-6), $"{name} differs after resume by {pa.sub(pc).abs().max().item<float>()} (max |w| {pa.abs().max().item<float>()})");
            compared++;
        }
        Assert.Equal(a.parameters().Count(), compared);
        // The checkpoint's weights are the nnU-Net's safetensors with its options.
        using var loaded = NnUNetModel.Load(Checkpoints.Latest(unbroken)!);
        Assert.Equal(a.Options.ToJson(), loaded.Options.ToJson());
        foreach (var ((name, pa), (_, pl)) in a.named_parameters().Zip(loaded.named_parameters()))
            Assert.True(pa.equal(pl).all().item<bool>(), $"{name} differs in the checkpoint");
    }

    [Fact]
    public void TwoDModel_WithVolumes_IsRefusedNamingBothShapes()
    {
        using var unet = new UNetModel(UNetOptions.Reference with { BaseFilters = 2, Depth = 1, InputSize = 18 });
        using var trainer = Trainer.For(unet).WithSteps(1, 1).Build();
        var e = Assert.Throws<ArgumentException>(() => trainer.Fit(_data, FoldSplit.All(_data.Count), cancellation: TestContext.Current.CancellationToken));
        Assert.Contains("N×4×16×16×16", e.Message);
        Assert.Contains("2-D", e.Message);
        Assert.Throws<InvalidOperationException>(() => Trainer.For(new NnUNetModel(Tiny)).Build().Model);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Evaluation_ScoresTheWholeValidationCase_OrItsPatches(bool whole)
    {
        if (!whole) _data.WholeVolumeLimit = 0;
        manual_seed(3);
        using var model = new NnUNetModel(Tiny);
        var fold = new FoldSplit(0, [0, 1], [2]);
        using var trainer = Configure(model).WithSteps(2, 2).WithLogging(1, evaluateEvery: 2).Build();
        var result = trainer.Fit(_data, fold, cancellation: TestContext.Current.CancellationToken);
        Assert.NotEmpty(result.Evaluations);
        var metrics = result.Evaluations[^1].Metrics;
        Assert.Equal(_data.Classes, metrics.HardDicePerClass.Count);
        Assert.InRange(metrics.ReferenceDice, 0, 1);
        long voxels = _prepared.Cases[2].Load().Image.Shape.Voxels;
        Assert.Equal(whole ? 1 : _data.EvaluationPatches, metrics.Samples);
        Assert.Equal(whole ? voxels : _data.EvaluationPatches * 16L * 16 * 16, metrics.Pixels);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
