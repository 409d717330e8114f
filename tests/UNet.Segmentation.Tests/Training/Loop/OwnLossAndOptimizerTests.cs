using UNet.Segmentation.Model;
using UNet.Segmentation.Training;
using static TorchSharp.torch;
using static UNet.Segmentation.Tests.Training.Loop.LoopFixture;

namespace UNet.Segmentation.Tests.Training.Loop;

[Collection("LiveTensors")]
public sealed class OwnLossAndOptimizerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("own-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A loss of one's own: mean squared error between softmax and one-hot labels.</summary>
    private static readonly LossFunction SquaredError = (logits, labels) => logits.softmax(1).sub(labels).square().mean();

    public static TheoryData<string> Optimizers => ["sgd-momentum", "adamw"];

    private static OptimizerFactory Make(string name) => name switch
    {
        "sgd-momentum" => p => optim.SGD(p, 0.05, momentum: 0.9),
        "adamw" => p => optim.AdamW(p, 1e-3, weight_decay: 0.01),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [MemberData(nameof(Optimizers))]
    public void AnOwnLossAndOptimizer_TrainCheckpointAndResumeExactly(string optimizer)
    {
        string unbroken = Path.Combine(_dir, optimizer + "-a"), broken = Path.Combine(_dir, optimizer + "-b");
        manual_seed(7);
        using var a = new UNetModel(Tiny with { DropoutRate = 0.3 });
        using var before = a.parameters().First().detach().clone();
        using (var t = Configure(a).WithLoss(SquaredError, "mse").WithOptimizer(Make(optimizer)).WithCheckpoints(unbroken, every: 3).Build())
        {
            var result = t.Fit(EmData, Fold, cancellation: TestContext.Current.CancellationToken);
            Assert.Equal("mse", t.LossName);
            Assert.All(result.History, r => Assert.True(double.IsFinite(r.Loss)));
        }
        Assert.False(a.parameters().First().allclose(before, rtol: 0, atol: 0), "the optimizer changed nothing");

        manual_seed(7);
        using (var b = new UNetModel(Tiny with { DropoutRate = 0.3 }))
        using (var t = Configure(b, 3).WithLoss(SquaredError, "mse").WithOptimizer(Make(optimizer)).WithCheckpoints(broken, every: 3).Build())
            t.Fit(EmData, Fold, cancellation: TestContext.Current.CancellationToken);
        manual_seed(99);
        using var c = new UNetModel(Tiny with { DropoutRate = 0.3 });
        using (var t = Configure(c).WithLoss(SquaredError, "mse").WithOptimizer(Make(optimizer)).WithCheckpoints(broken, every: 3).Build())
            Assert.Equal(6, t.Fit(EmData, Fold, cancellation: TestContext.Current.CancellationToken).Steps);
        // The optimizer's state (momentum buffers, AdamW's moments and step) came back: the same weights bit for bit.
        AssertSameWeights(a, c);
    }

    [Fact]
    public void ACheckpointOfAnotherOptimizer_IsRefusedNamingTheFileAndBothOptimizers()
    {
        string dir = Path.Combine(_dir, "x");
        using (var model = new UNetModel(Tiny))
        using (var t = Configure(model, 2).WithCheckpoints(dir).Build())
            t.Fit(EmData, Fold with { Validation = [] }, cancellation: TestContext.Current.CancellationToken);
        using var other = new UNetModel(Tiny);
        using var sgd = Configure(other, 4).WithOptimizer(Make("sgd-momentum")).WithCheckpoints(dir).Build();
        var e = Assert.Throws<InvalidDataException>(() => sgd.Fit(EmData, Fold, cancellation: TestContext.Current.CancellationToken));
        Assert.Contains("step-00000002.safetensors", e.Message);
        Assert.Contains("TorchSharp.Modules.Adam", e.Message);
        Assert.Contains("TorchSharp.Modules.SGD", e.Message);
    }

    [Fact]
    public void ASchedule_SetsAnOwnOptimizersRate_AndWithoutOneItsOwnRateStays()
    {
        using var model = new UNetModel(Tiny);
        using (var t = Configure(model, 2).WithOptimizer(Make("sgd-momentum")).Build())
            Assert.All(t.Fit(EmData, Fold with { Validation = [] }, cancellation: TestContext.Current.CancellationToken).History, r => Assert.Equal(0.05, r.LearningRate));
        using (var t = Configure(model, 2).WithOptimizer(Make("sgd-momentum")).WithSchedule(LearningRateSchedules.StepDecay(0.1, 1, 0.5)).Build())
            Assert.Equal([0.1, 0.05], t.Fit(EmData, Fold with { Validation = [] }, cancellation: TestContext.Current.CancellationToken).History.Select(r => r.LearningRate));
    }
}
