using System.Globalization;
using UNet.Segmentation.Model;
using UNet.Segmentation.Serialization;
using UNet.Segmentation.Training;
using UNet.Segmentation.Training.Callbacks;
using static UNet.Segmentation.Tests.Training.Loop.LoopFixture;

namespace UNet.Segmentation.Tests.Training.Loop;

[Collection("LiveTensors")]
public sealed class EarlyStoppingAndKeepBestTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("early-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void AScriptedMetric_StopsAtTheRightStep_AndKeepsTheRightBestCheckpoint()
    {
        // Evaluations every 2 steps see 0.5, 0.7, 0.69, 0.71, 0.705 (then the final one): with
        // min-delta 0.02 the 0.71 at step 8 is no improvement on 0.7 (step 4), so patience 3 runs
        // out at step 10. Keep-best has no min-delta: its best is 0.71, at step 8.
        double[] script = [0.5, 0.7, 0.69, 0.71, 0.705, 0.2];
        string dir = Path.Combine(_dir, "c");
        using var model = new UNetModel(Tiny);
        var early = new EarlyStopping(patience: 3, minDelta: 0.02, ScriptedMetric.Of(true, script));
        var best = new KeepBest(ScriptedMetric.Of(true, script));
        using var trainer = Configure(model, 40).WithLogging(1, evaluateEvery: 2).WithCheckpoints(dir, every: 2, keepLast: 100)
            .WithCallback(early).WithCallback(best).Build();
        var result = trainer.Fit(EmData, Fold, cancellation: TestContext.Current.CancellationToken);

        Assert.Equal(10, result.Steps);
        Assert.False(result.Completed);
        Assert.Contains("early stopping: scripted has not improved", result.StopReason);
        Assert.Equal((0.7, 4L, 10L), (early.Best, early.BestStep, early.StoppedAt!.Value));
        // Stopped early is a finished fit, whose last step was just evaluated (not twice), and whose last checkpoint is step 10's.
        Assert.Equal([2L, 4, 6, 8, 10], result.Evaluations.Select(e => e.Step));
        Assert.EndsWith("step-00000010.safetensors", result.LastCheckpoint);

        string kept = Path.Combine(dir, KeepBest.FileName);
        var (metadata, _) = Safetensors.ReadHeader(kept);
        Assert.Equal(("scripted", 0.71, "8"), (metadata[KeepBest.MetricKey], double.Parse(metadata[KeepBest.ValueKey], CultureInfo.InvariantCulture), metadata[KeepBest.StepKey]));
        // best.safetensors holds step 8's model (equal to step 8's checkpoint), and keep-last never lists it.
        using var bestModel = UNetModel.Load(kept);
        using var step8 = UNetModel.Load(Checkpoints.PathFor(dir, 8));
        AssertSameWeights(step8, bestModel);
        Assert.DoesNotContain(Checkpoints.List(dir), f => f.EndsWith(KeepBest.FileName, StringComparison.Ordinal));
    }

    [Fact]
    public void AResumedFit_DoesNotReplaceABetterKeptModel()
    {
        string dir = Path.Combine(_dir, "r");
        using (var model = new UNetModel(Tiny))
        using (var t = Configure(model, 2).WithLogging(1, evaluateEvery: 1).WithCheckpoints(dir).WithCallback(new KeepBest(ScriptedMetric.Of(false, 0.3, 0.4))).Build())
            t.Fit(EmData, Fold, cancellation: TestContext.Current.CancellationToken);
        Assert.Equal("1", Safetensors.ReadHeader(Path.Combine(dir, KeepBest.FileName)).Metadata[KeepBest.StepKey]);

        // A lower-is-better metric: 0.35 is worse than the kept 0.3 and must not replace it; 0.1 must.
        var resumed = new KeepBest(ScriptedMetric.Of(false, 0.35, 0.1));
        using (var model = new UNetModel(Tiny))
        using (var t = Configure(model, 4).WithLogging(1, evaluateEvery: 1).WithCheckpoints(dir).WithCallback(resumed).Build())
        {
            t.Fit(EmData, Fold, cancellation: TestContext.Current.CancellationToken);
            Assert.Equal((0.1, 4L), (resumed.Best, resumed.BestStep));
        }
        Assert.Equal("4", Safetensors.ReadHeader(Path.Combine(dir, KeepBest.FileName)).Metadata[KeepBest.StepKey]);
    }

    [Fact]
    public void BadSettings_AreRefusedNamingTheArgument()
    {
        Assert.Equal("patience", Assert.Throws<ArgumentOutOfRangeException>(() => new EarlyStopping(0)).ParamName);
        Assert.Equal("minDelta", Assert.Throws<ArgumentOutOfRangeException>(() => new EarlyStopping(2, double.NaN)).ParamName);
        var e = Assert.Throws<ArgumentException>(() => MonitoredMetric.Parse("f1"));
        Assert.Contains("dice, hard_dice, mean_iou, accuracy, loss", e.Message);
        Assert.Same(MonitoredMetric.Loss, MonitoredMetric.Parse("LOSS"));

        // Keep-best without a checkpoint folder or a path of its own stops the fit with one clear line.
        using var model = new UNetModel(Tiny);
        using var trainer = Configure(model, 2).WithCallback(new KeepBest()).Build();
        var ex = Assert.Throws<InvalidOperationException>(() => trainer.Fit(EmData, Fold, cancellation: TestContext.Current.CancellationToken));
        Assert.Contains("KeepBest needs a checkpoint folder", ex.Message);
    }
}
