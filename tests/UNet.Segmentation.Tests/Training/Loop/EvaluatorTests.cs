using UNet.Segmentation.Model;
using UNet.Segmentation.Tests.Shared;
using UNet.Segmentation.Training;
using static TorchSharp.torch;
using static UNet.Segmentation.Tests.Training.Loop.LoopFixture;

namespace UNet.Segmentation.Tests.Training.Loop;

[Collection("LiveTensors")]
public sealed class EvaluatorTests
{
    [Fact]
    public void TheEvaluator_MeasuresAsTheTrainerDoes_AndAllocatesNoOptimizerState()
    {
        manual_seed(2);
        using var model = new UNetModel(Tiny);
        long baseline = LiveTensors.SettledCount();
        var metrics = new Evaluator(model, new EvaluatorOptions { BatchSize = 2 }).Evaluate(EmData, Fold.Validation);
        // An optimizer would hold tensors per parameter; the evaluator holds none after the call.
        Assert.Equal(baseline, LiveTensors.SettledCount());
        Assert.Equal(2, metrics.Samples);

        using var trainer = Configure(model).Build();
        Assert.Equal(metrics, trainer.Evaluate(EmData, Fold.Validation), new MetricsComparer());
        Assert.True(LiveTensors.SettledCount() > baseline + model.parameters().Count(), "a trainer's Adam holds state per parameter (the check above could not fail otherwise)");
    }

    [Fact]
    public void BadOptionsAndData_AreListedAndNamed()
    {
        using var model = new UNetModel(Tiny);
        var e = Assert.Throws<OptionsValidationException>(() => new Evaluator(model, new EvaluatorOptions { BatchSize = 0, Precision = Precision.Float16 }));
        Assert.Equal(2, e.Problems.Count);
        Assert.Equal("BatchSize", e.ParamName);
        using var threeClasses = new UNetModel(Tiny with { Classes = 3 });
        Assert.Equal("data", Assert.Throws<ArgumentException>(() => new Evaluator(threeClasses).Evaluate(EmData, [0])).ParamName);
    }

    private sealed class MetricsComparer : IEqualityComparer<SegmentationMetrics>
    {
        public bool Equals(SegmentationMetrics? x, SegmentationMetrics? y) =>
            x!.ReferenceDice == y!.ReferenceDice && x.HardDicePerClass.SequenceEqual(y.HardDicePerClass) && x.CrossEntropy == y.CrossEntropy && x.Samples == y.Samples;

        public int GetHashCode(SegmentationMetrics obj) => obj.Samples.GetHashCode();
    }
}
