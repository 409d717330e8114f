using UNet.Segmentation.Data;
using UNet.Segmentation.Model;
using UNet.Segmentation.Training;
using UNet.Segmentation.Training.Callbacks;

namespace UNet.Segmentation.Tests.Training.Loop;

/// <summary>The tiny model, data and trainer the training-loop tests share, and callbacks that record what they see.</summary>
internal static class LoopFixture
{
    public static readonly IsbiDataset EmData = IsbiDataset.Synthetic(new SyntheticEmOptions { Slices = 6, Size = 64, MeanCellDiameter = 16, MembraneWidthMin = 1, MembraneWidthMax = 3 });
    public static readonly UNetOptions Tiny = UNetOptions.Reference with { BaseFilters = 4, Depth = 2, InputSize = 92 };
    public static readonly FoldSplit Fold = new(0, [0, 1, 2, 3], [4, 5]);

    public static TrainerBuilder Configure(UNetModel model, long steps = 6) =>
        Trainer.For(model).WithSteps(steps, batchSize: 2).WithAdam(1e-3).WithLogging(logEvery: 1);

    /// <summary>Every weight of two models equal, bit for bit.</summary>
    public static void AssertSameWeights(UNetModel expected, UNetModel actual)
    {
        foreach (var ((name, a), (_, b)) in expected.state_dict().Zip(actual.state_dict()))
            Assert.True(a.allclose(b, rtol: 0, atol: 0), $"{name} differs");
    }
}

/// <summary>Records every call, in order, as "start", "step N", "eval N", "checkpoint N Kind", "end N".</summary>
internal sealed class RecordingCallback(bool everyRank = false) : ITrainingCallback
{
    public List<string> Calls { get; } = [];

    public List<(long Step, double Loss, double Dice)> Logged { get; } = [];

    public bool OnEveryRank => everyRank;

    public void OnFitStart(TrainingContext context) => Calls.Add($"start {context.Step}");

    public void OnStepEnd(TrainingContext context, TrainingStep step)
    {
        Calls.Add($"step {step.Step}");
        if (step.Logged is { } r) Logged.Add((r.Step, r.Loss, r.Dice));
    }

    public void OnEvaluationEnd(TrainingContext context, EvaluationRecord evaluation) => Calls.Add($"eval {evaluation.Step}");

    public void OnCheckpointSaved(TrainingContext context, CheckpointRecord checkpoint) => Calls.Add($"checkpoint {checkpoint.Step} {checkpoint.Kind}");

    public void OnFitEnd(TrainingContext context, FitSummary summary) => Calls.Add($"end {summary.Steps}");
}

/// <summary>A validation metric whose values come from a script, one per evaluation, whatever the model does.</summary>
internal static class ScriptedMetric
{
    public static MonitoredMetric Of(bool higherIsBetter, params double[] values)
    {
        int i = 0;
        return new MonitoredMetric("scripted", _ => values[Math.Min(i++, values.Length - 1)], higherIsBetter);
    }
}
