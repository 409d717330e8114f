using TorchSharp;
using UNet.Segmentation.Data;
using UNet.Segmentation.Data.Msd;
using UNet.Segmentation.Inference.NnUNet;
using UNet.Segmentation.Scoring;
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

    [Fact]
    public void Evaluation_PredictsTheValidationCasesThroughTheSlidingWindow()
    {
        manual_seed(3);
        using var model = new NnUNetModel(Tiny);
        var fold = new FoldSplit(0, [0, 1], [2]);
        _data.Regions = DiceRegion.MsdBrainTumour;
        using var trainer = Configure(model).WithSteps(2, 2).WithLogging(1, evaluateEvery: 2).Build();
        var result = trainer.Fit(_data, fold, cancellation: TestContext.Current.CancellationToken);
        var metrics = result.Evaluations[^1].Metrics;
        Assert.Same(_data.LastEvaluation!.Metrics, metrics);
        Assert.True(model.training); // the fit's evaluation put the model back in training mode
        Assert.Equal(1, metrics.Samples); // one whole case
        Assert.Equal(_prepared.Cases[2].Load().Image.Shape.Voxels, metrics.Pixels);
        Assert.Equal(["WT", "TC", "ET"], metrics.RegionDice!.Keys);
        Assert.Equal(_data.Classes - 1, metrics.CaseDicePerClass!.Count);
        // What prediction gives for that case, scored: the same numbers.
        using var window = new NnUNetSlidingWindow(model, _data.Prediction);
        var again = _data.Evaluate(window, [2], TestContext.Current.CancellationToken);
        Assert.Equal(again.ClassDice, metrics.CaseDicePerClass);
        Assert.Equal(again.RegionDice, metrics.RegionDice.Values);
        Assert.Equal(again.Metrics.CrossEntropy, metrics.CrossEntropy, 12);
    }

    [Fact]
    public void SliceData_WithAThreeDModel_IsRefusedNamingBothShapes()
    {
        var slices = MsdTrainingData.Load(_prepared, MsdAugmentationOptions.None, spatialDims: 2);
        Assert.Equal(new Shape3D(1, 16, 16), slices.PatchSize);
        using var model = new NnUNetModel(Tiny);
        using var trainer = Configure(model).Build();
        var e = Assert.Throws<ArgumentException>(() => trainer.Fit(slices, FoldSplit.All(slices.Count), cancellation: TestContext.Current.CancellationToken));
        Assert.Contains("N×4×16×16 slices", e.Message);
        Assert.Contains("3-D network", e.Message);
        Assert.Throws<ArgumentException>(() => new MsdTrainingData(slices.Cases, new Shape3D(2, 16, 16), 4, spatialDims: 2));
        Assert.Throws<ArgumentException>(() => new MsdTrainingData(slices.Cases, new Shape3D(1, 16, 16), 4, spatialDims: 4));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
