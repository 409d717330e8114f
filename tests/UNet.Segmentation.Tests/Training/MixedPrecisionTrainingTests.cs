using TorchSharp;
using UNet.Segmentation.Data;
using UNet.Segmentation.Model;
using UNet.Segmentation.Training;
using UNet.Segmentation.Training.Callbacks;
using static TorchSharp.torch;

namespace UNet.Segmentation.Tests.Training;

/// <summary>The trainer's bfloat16 path: a working copy refreshed once per step, float32 master weights everywhere else.</summary>
[Collection("LiveTensors")]
public sealed class MixedPrecisionTrainingTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("bf16-").FullName;
    private static readonly IsbiDataset Data = IsbiDataset.Synthetic(new SyntheticEmOptions { Slices = 6, Size = 64, MeanCellDiameter = 16, MembraneWidthMin = 1, MembraneWidthMax = 3 });
    private static readonly UNetOptions Tiny = UNetOptions.Reference with { BaseFilters = 4, Depth = 2, InputSize = 92 };
    private static readonly DataOptions TinyData = DataOptions.Reference with { InputSize = 92, OutputSize = 52 };
    private static readonly FoldSplit Fold = new(0, [0, 1, 2, 3], [4, 5]);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static TrainerBuilder Configure(UNetModel model, Precision precision, int steps) =>
        Trainer.For(model).WithData(TinyData).WithSteps(steps, batchSize: 2).WithAdam(1e-3).WithLogging(logEvery: 0).WithMixedPrecision(precision);

    /// <summary>Reads, after every step, the working copy's cast count and the live tensor count.</summary>
    private sealed class StepProbe : ITrainingCallback
    {
        public List<long> Casts { get; } = [];
        public List<long> LiveTensors { get; } = [];
        public List<double> Losses { get; } = [];
        public bool Resumed { get; private set; }

        public void OnStepEnd(TrainingContext context, TrainingStep step)
        {
            Casts.Add(context.Trainer.WorkingCopy?.Casts ?? 0);
            LiveTensors.Add(torch.Tensor.TotalCount);
            Losses.Add(step.Loss);
            Resumed = context.Resumed;
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void EveryStep_MakesTwoCastsPerConvolutionTensor_PlusInputAndLogits_AndLeaksNothing(bool batchNorm)
    {
        using var model = new UNetModel(Tiny with { BatchNorm = batchNorm });
        var probe = new StepProbe();
        using var trainer = Configure(model, Precision.BFloat16, 8).WithCallback(probe).Build();
        trainer.Fit(Data, Fold, cancellation: TestContext.Current.CancellationToken);

        // The design's count, from the model alone: every convolution and transposed-convolution
        // weight and bias (batch norm stays float32) once to float32 and once back, the input, the logits.
        int convTensors = model.named_parameters().Count(p => !p.name.Contains(".bn", StringComparison.Ordinal));
        Assert.Equal(convTensors, trainer.WorkingCopy!.CastParameterCount);
        var perStep = probe.Casts.Zip(probe.Casts.Skip(1), (a, b) => b - a).ToList();
        output.WriteLine($"{convTensors} convolution tensors; casts per step: {string.Join(", ", perStep)}");
        Assert.All(perStep, n => Assert.Equal(2 * convTensors + 2, n));
        // No tensor left behind per step: the live count is the same after every step once warm.
        Assert.All(probe.LiveTensors.Skip(2), n => Assert.Equal(probe.LiveTensors[1], n));
        Assert.All(model.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
    }

    [Fact]
    public void ShortTraining_LowersTheLossAsFloat32Does()
    {
        double[] Train(Precision precision)
        {
            manual_seed(3);
            using var model = new UNetModel(Tiny);
            var probe = new StepProbe();
            using var trainer = Configure(model, precision, 40).WithCallback(probe).Build();
            trainer.Fit(Data, Fold, cancellation: TestContext.Current.CancellationToken);
            return [probe.Losses.Take(5).Average(), probe.Losses.TakeLast(5).Average()];
        }
        var f32 = Train(Precision.Float32);
        var bf16 = Train(Precision.BFloat16);
        output.WriteLine($"mean loss of the first / last 5 of 40 steps: float32 {f32[0]:F4} → {f32[1]:F4}, bfloat16 {bf16[0]:F4} → {bf16[1]:F4}");
        Assert.True(f32[1] < 0.9 * f32[0], "float32 did not learn: the comparison says nothing");
        Assert.True(bf16[1] < 0.9 * bf16[0], "bfloat16 did not lower the loss");
        Assert.True(Math.Abs(bf16[1] - f32[1]) <= 0.1 * f32[1], $"bfloat16 ends at {bf16[1]:F4}, float32 at {f32[1]:F4}");
    }

    [Fact]
    public void Checkpoints_OfTheBFloat16PathLoadAsFloat32_AndFloat32OnesResumeInBFloat16()
    {
        string dir = Path.Combine(_dir, "ckpt");
        manual_seed(4);
        using var model = new UNetModel(Tiny);
        using (var trainer = Configure(model, Precision.BFloat16, 3).WithCheckpoints(dir, every: 3).Build())
            trainer.Fit(Data, Fold, cancellation: TestContext.Current.CancellationToken);
        string written = Checkpoints.Latest(dir)!;
        using (var loaded = UNetModel.Load(written))
            foreach (var ((name, a), (_, b)) in model.state_dict().Zip(loaded.state_dict()))
            {
                Assert.Equal(a.dtype, b.dtype);
                Assert.True(a.eq(b).all().item<bool>(), $"{name}: the checkpoint holds other values than the float32 masters");
            }

        // That checkpoint resumes in float32, and a float32 one in bfloat16: the copy starts from the restored masters.
        using var again = new UNetModel(Tiny);
        var resumed = new StepProbe();
        using (var trainer = Configure(again, Precision.Float32, 5).WithCheckpoints(dir, every: 5).WithCallback(resumed).Build())
            trainer.Fit(Data, Fold, cancellation: TestContext.Current.CancellationToken);
        Assert.True(resumed.Resumed);
        Assert.Equal(2, resumed.Losses.Count);
        using var third = new UNetModel(Tiny);
        var probe = new StepProbe();
        using (var trainer = Configure(third, Precision.BFloat16, 6).WithCheckpoints(dir, every: 6).WithCallback(probe).Build())
        {
            var result = trainer.Fit(Data, Fold, cancellation: TestContext.Current.CancellationToken);
            Assert.True(probe.Resumed);
            Assert.Equal(6, result.Steps);
            foreach (var ((name, m), (_, w)) in third.named_parameters().Zip(trainer.WorkingCopy!.Working.named_parameters()))
                Assert.True(w.to(ScalarType.Float32).allclose(m, rtol: 1.0 / 128, atol: 0), $"{name}: the copy is not the restored master's");
        }
    }
}
