using UNet.Segmentation.Model;
using UNet.Segmentation.Training;
using UNet.Segmentation.Training.Callbacks;
using static TorchSharp.torch;
using static UNet.Segmentation.Tests.Training.Loop.LoopFixture;

namespace UNet.Segmentation.Tests.Training.Loop;

[Collection("LiveTensors")]
public sealed class CallbackTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("loop-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void CallbacksSeeEveryStepOnce_InOrder_WithEvaluationsAndCheckpoints()
    {
        using var model = new UNetModel(Tiny);
        var seen = new RecordingCallback();
        using var trainer = Configure(model, 4).WithLogging(2, evaluateEvery: 2).WithCheckpoints(Path.Combine(_dir, "c"), every: 3).WithCallback(seen).Build();
        var result = trainer.Fit(EmData, Fold, cancellation: TestContext.Current.CancellationToken);

        Assert.Equal(["start 0", "step 1", "step 2", "eval 2", "step 3", "checkpoint 3 Periodic", "step 4", "checkpoint 4 Final", "eval 4", "end 4"], seen.Calls);
        // The logged steps the callback saw are the result's history, value for value.
        Assert.Equal(result.History.Select(r => (r.Step, r.Loss, r.Dice)), seen.Logged);
        Assert.All(result.History, r => Assert.InRange(r.Dice, 0, 1));
    }

    [Fact]
    public void AcrossAResume_EveryStepIsSeenOnce()
    {
        string dir = Path.Combine(_dir, "r");
        var first = new RecordingCallback();
        using (var model = new UNetModel(Tiny))
        using (var t = Configure(model, 3).WithCheckpoints(dir, every: 100).WithCallback(first).Build())
            t.Fit(EmData, Fold with { Validation = [] }, cancellation: TestContext.Current.CancellationToken);
        var second = new RecordingCallback();
        using (var model = new UNetModel(Tiny))
        using (var t = Configure(model, 6).WithCheckpoints(dir, every: 100).WithCallback(second).Build())
            t.Fit(EmData, Fold with { Validation = [] }, cancellation: TestContext.Current.CancellationToken);

        var steps = first.Calls.Concat(second.Calls).Where(c => c.StartsWith("step ", StringComparison.Ordinal));
        Assert.Equal(Enumerable.Range(1, 6).Select(i => $"step {i}"), steps);
        Assert.Equal("start 3", second.Calls[0]);
    }

    [Fact]
    public void ACallbacksException_StopsTheFit_AfterTheCheckpointOfTheLastFinishedStep()
    {
        string dir = Path.Combine(_dir, "x");
        using var model = new UNetModel(Tiny);
        var after = new RecordingCallback();
        using var trainer = Configure(model, 10).WithCheckpoints(dir, every: 100).WithCallback(new ThrowsAt(4)).WithCallback(after).Build();

        var e = Assert.Throws<InvalidOperationException>(() => trainer.Fit(EmData, Fold, cancellation: TestContext.Current.CancellationToken));
        Assert.Equal("callback failed at step 4", e.Message);
        Assert.EndsWith("step-00000004.safetensors", Checkpoints.Latest(dir));
        // The checkpoint holds the weights as they were after step 4.
        using var saved = UNetModel.Load(Checkpoints.Latest(dir)!);
        AssertSameWeights(model, saved);
        // Callbacks after the failing one still saw step 4 and the end; no evaluation ran after the failure.
        Assert.Equal(["step 4", "checkpoint 4 Final", "end 4"], after.Calls.TakeLast(3));
        Assert.DoesNotContain(after.Calls, c => c.StartsWith("eval", StringComparison.Ordinal));
    }

    [Fact]
    public void ALossThatIsNotAScalar_IsRefusedNamingTheLoss()
    {
        using var model = new UNetModel(Tiny);
        using var trainer = Configure(model, 2).WithLoss((logits, labels) => (logits - labels).abs(), "l1 map").Build();
        var e = Assert.Throws<InvalidOperationException>(() => trainer.Fit(EmData, Fold, cancellation: TestContext.Current.CancellationToken));
        Assert.Contains("'l1 map' must return a floating-point scalar", e.Message);
    }

    private sealed class ThrowsAt(long step) : ITrainingCallback
    {
        public void OnStepEnd(TrainingContext context, TrainingStep s)
        {
            if (s.Step == step) throw new InvalidOperationException($"callback failed at step {step}");
        }
    }
}
