using TorchSharp;
using UNet.Segmentation.Data;
using UNet.Segmentation.Data.Msd;
using UNet.Segmentation.Model.NnUNet;
using UNet.Segmentation.Model.Precision;
using UNet.Segmentation.Training;
using UNet.Segmentation.Training.Callbacks;
using static TorchSharp.torch;
using Precision = UNet.Segmentation.Training.Precision;

namespace UNet.Segmentation.Tests.Training;

/// <summary>
/// The nnU-Net's bfloat16 training through the Trainer: a working copy with its convolutions in
/// bfloat16 and its instance norms in float32, refreshed once per step; a tiny 3-D net on
/// synthetic MSD patches of 16³, whose bottleneck (2×2×2 under 3×3×3 kernels) is where libtorch's
/// bfloat16 weight gradient is wrong and <see cref="NnUNetConv"/> computes in float32.
/// </summary>
[Collection("LiveTensors")]
public sealed class NnUNetMixedPrecisionTrainingTests : IDisposable
{
    private readonly ITestOutputHelper _output;
    private readonly string _dir = Directory.CreateTempSubdirectory("nnunet-bf16-").FullName;
    private readonly MsdPreparedData _prepared;
    private readonly MsdTrainingData _data;

    public NnUNetMixedPrecisionTrainingTests(ITestOutputHelper output)
    {
        _output = output;
        var task = SyntheticMsd.Generate(Path.Combine(_dir, "task"), new SyntheticMsdOptions { TrainingCases = 3, TestCases = 0, Size = new Shape3D(24, 24, 24) });
        _prepared = MsdCache.Prepare(task, Path.Combine(_dir, "cache"), new MsdPreprocessingOptions { PatchSize = new Shape3D(16, 16, 16) });
        _data = MsdTrainingData.Load(_prepared);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>16³ → 8³ → 4³ → 2³ (minimum feature map 2), filters 4, 8, 16, 16, two heads.</summary>
    private NnUNetOptions Tiny => NnUNetPlan.For([16, 16, 16], [1.0, 1.0, 1.0], inputChannels: _data.Channels, classes: _data.Classes, minFeatureMap: 2) with { BaseFilters = 4, MaxFilters = 16 };

    private static TrainerBuilder Configure(NnUNetModel model, Precision precision, int steps) =>
        Trainer.For(model).WithSteps(steps, 2).WithAdam(3e-3).WithWeightDecay(0).WithSeed(7).WithLogging(0).WithMixedPrecision(precision);

    /// <summary>Reads, after every step, the working copy's cast count, the live tensor count and the loss.</summary>
    private sealed class StepProbe : ITrainingCallback
    {
        public List<long> Casts { get; } = [];
        public List<long> LiveTensors { get; } = [];
        public List<double> Losses { get; } = [];

        public void OnStepEnd(TrainingContext context, TrainingStep step)
        {
            Casts.Add(context.Trainer.WorkingCopy?.Casts ?? 0);
            LiveTensors.Add(torch.Tensor.TotalCount);
            Losses.Add(step.Loss);
        }
    }

    /// <summary>The convolutions of <paramref name="options"/>'s net that see an input shorter than their kernel at the patch size: here the bottleneck's second one (2×2×2 under 3×3×3).</summary>
    private static int ShortInputConvolutions(NnUNetOptions options)
    {
        Assert.Equal([2, 2, 2], options.PatchSize!.Zip(options.TotalStride, (p, s) => p / s).ToArray());
        Assert.All(options.Kernels[^1], k => Assert.Equal(3, k));
        return 1; // bottleneck.conv1 sees 4³ (stride 2); conv2 sees 2³; the decoder's blocks 4³ and up
    }

    [Fact]
    public void WorkingCopy_HoldsConvolutionsInBFloat16_AndItsTrainingForwardCastsOnlyAtTheEnds()
    {
        manual_seed(4);
        using var model = new NnUNetModel(Tiny);
        using var copy = new MixedPrecisionModel(model, ScalarType.BFloat16);
        foreach (var (name, p) in copy.WorkingModule.named_parameters())
            Assert.Equal(name.Contains(".norm", StringComparison.Ordinal) ? ScalarType.Float32 : ScalarType.BFloat16, p.dtype);
        Assert.Equal(model.named_parameters().Count(np => !np.name.Contains(".norm", StringComparison.Ordinal)), copy.CastParameterCount);
        using var scope = NewDisposeScope();
        long before = copy.Casts;
        var (forLoss, logits) = copy.TrainingForward(randn(new long[] { 2, _data.Channels, 16, 16, 16 }));
        Assert.Equal(ScalarType.Float32, forLoss.dtype);
        Assert.Equal(ScalarType.Float32, logits.dtype);
        // The input, the stacked outputs and the main logits; and the short-input convolution's input, weight and result.
        Assert.Equal(3 + 3 * ShortInputConvolutions(Tiny), copy.Casts - before);
    }

    [Fact]
    public void EveryStep_MakesTwoCastsPerConvolutionTensor_PlusTheEnds_AndLeaksNothing()
    {
        manual_seed(4);
        using var model = new NnUNetModel(Tiny);
        var probe = new StepProbe();
        using (var trainer = Configure(model, Precision.BFloat16, 8).WithCallback(probe).Build())
        {
            trainer.Fit(_data, FoldSplit.All(_data.Count), cancellation: TestContext.Current.CancellationToken);
            // Every convolution weight and bias once to float32 (its gradient) and once back (the
            // refresh); the input, the outputs, the main logits; 3 per short-input convolution.
            int convTensors = model.named_parameters().Count(p => !p.name.Contains(".norm", StringComparison.Ordinal));
            Assert.Equal(convTensors, trainer.WorkingCopy!.CastParameterCount);
            var perStep = probe.Casts.Zip(probe.Casts.Skip(1), (a, b) => b - a).ToList();
            _output.WriteLine($"{convTensors} convolution tensors; casts per step: {string.Join(", ", perStep)}");
            Assert.All(perStep, n => Assert.Equal(2 * convTensors + 3 + 3 * ShortInputConvolutions(Tiny), n));
        }
        // No tensor left behind per step: the live count is the same after every step once warm.
        Assert.All(probe.LiveTensors.Skip(2), n => Assert.Equal(probe.LiveTensors[1], n));
        Assert.All(model.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
    }

    [Fact]
    public void Fit_LowersTheLoss_StaysFinite_AndFollowsFloat32()
    {
        const int Steps = 60, Window = 5;
        double[] Train(Precision precision)
        {
            manual_seed(5);
            using var model = new NnUNetModel(Tiny);
            var probe = new StepProbe();
            using var trainer = Configure(model, precision, Steps).WithCallback(probe).Build();
            trainer.Fit(_data, FoldSplit.All(_data.Count), cancellation: TestContext.Current.CancellationToken);
            Assert.All(model.parameters(), p => Assert.True(p.isfinite().all().item<bool>(), $"{precision}: non-finite weights"));
            Assert.Equal(Steps, probe.Losses.Count);
            return probe.Losses.Chunk(Window).Select(c => c.Average()).ToArray();
        }
        var f32 = Train(Precision.Float32);
        var bf16 = Train(Precision.BFloat16);
        var gaps = bf16.Zip(f32, (b, f) => Math.Abs(b - f) / f).ToArray();
        _output.WriteLine($"mean loss per {Window} steps, float32: {string.Join(" ", f32.Select(v => v.ToString("F4")))}");
        _output.WriteLine($"                         bfloat16: {string.Join(" ", bf16.Select(v => v.ToString("F4")))}");
        _output.WriteLine($"largest relative gap {gaps.Max():P2}");
        Assert.All(bf16, v => Assert.True(double.IsFinite(v)));
        Assert.True(f32[^1] < 0.8 * f32[0], "float32 did not learn: the comparison says nothing");
        Assert.True(bf16[^1] < 0.8 * bf16[0], $"bfloat16 did not lower the loss: {bf16[0]:F4} → {bf16[^1]:F4}");
        // bfloat16 rounds each convolution's inputs, weights and gradients to 8 significant bits;
        // over 60 steps the curves stayed within 0.3 % of each other when this was written.
        Assert.True(gaps.Max() < 0.03, $"bfloat16's loss left float32's by {gaps.Max():P2}");
    }

    [Fact]
    public void AFloat32Checkpoint_ResumesInBFloat16_FromItsWeights()
    {
        const double LearningRate = 3e-3;
        string dir = Path.Combine(_dir, "ckpt");
        var fold = FoldSplit.All(_data.Count);
        var token = TestContext.Current.CancellationToken;
        manual_seed(5);
        using var unbroken = new NnUNetModel(Tiny);
        using (var t = Configure(unbroken, Precision.Float32, 5).Build()) t.Fit(_data, fold, cancellation: token);
        manual_seed(5);
        using (var first = new NnUNetModel(Tiny))
        using (var t = Configure(first, Precision.Float32, 3).WithCheckpoints(dir, every: 3).Build()) t.Fit(_data, fold, cancellation: token);

        manual_seed(99); // another initialisation: the float32 checkpoint must replace it
        using var resumed = new NnUNetModel(Tiny);
        double initialGap = unbroken.parameters().Zip(resumed.parameters()).Max(p => p.First.sub(p.Second).abs().max().item<float>());
        using (var t = Configure(resumed, Precision.BFloat16, 5).WithCheckpoints(dir, every: 5).Build())
        {
            var result = t.Fit(_data, fold, cancellation: token);
            Assert.Equal(5, result.Steps);
            foreach (var ((name, m), (_, w)) in resumed.named_parameters().Zip(t.WorkingCopy!.WorkingModule.named_parameters()))
                Assert.True(w.to(ScalarType.Float32).allclose(m, rtol: 1.0 / 128, atol: 0), $"{name}: the copy is not the master's");
        }
        // Steps 4 and 5 in bfloat16 from the float32 step-3 weights: each Adam step moves a weight by
        // about the learning rate at most, so the two runs end within a few learning rates.
        foreach (var ((name, a), (_, c)) in unbroken.named_parameters().Zip(resumed.named_parameters()))
        {
            double gap = a.sub(c).abs().max().item<float>();
            Assert.True(gap < 5 * LearningRate, $"{name}: {gap} from the unbroken float32 run (the initialisations were {initialGap} apart)");
        }
        Assert.True(initialGap > 20 * LearningRate, $"the two initialisations are only {initialGap} apart: the comparison says nothing");
    }

    [Fact]
    public void OneStepsGradients_AgreeWithFloat32ToBFloat16Precision_AndRepeatExactly()
    {
        using var scope = NewDisposeScope();
        var batches = new MsdTrainingBatches(_prepared.Cases.Select(c => c.Load()).ToList(), new MsdPatchSampler(new Shape3D(16, 16, 16)), MsdAugmentationOptions.None, seed: 3);
        var (images, labels) = batches.Batch(0, batchSize: 2);
        manual_seed(6);
        using var model = new NnUNetModel(Tiny);
        Dictionary<string, Tensor> TakeGradients()
        {
            var grads = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.clone());
            model.zero_grad();
            return grads;
        }
        NnUNetLoss.DeepSupervision(model.ForwardWithDeepSupervision(images), labels).backward();
        var expected = TakeGradients();
        using var copy = new MixedPrecisionModel(model, ScalarType.BFloat16);
        var runs = new List<Dictionary<string, Tensor>>();
        for (int i = 0; i < 2; i++)
        {
            NnUNetLoss.DeepSupervision(copy.TrainingForward(images).ForLoss, labels).backward();
            copy.GradientsToMaster();
            runs.Add(TakeGradients());
        }
        double Relative(Tensor a, Tensor b) => a.sub(b).norm().item<float>() / b.norm().item<float>();
        double squared = 0, total = 0;
        foreach (var (name, g) in expected)
        {
            var got = runs[0][name];
            Assert.True(got.isfinite().all().item<bool>(), $"{name}: non-finite bfloat16 gradient");
            Assert.True(runs[1][name].equal(got).all().item<bool>(), $"{name}: the same batch gave another bfloat16 gradient");
            squared += got.sub(g).square().sum().item<float>();
            total += g.square().sum().item<float>();
            _output.WriteLine($"{name,-48} relative L2 {Relative(got, g):F4}");
        }
        double overall = Math.Sqrt(squared / total);
        _output.WriteLine($"all parameters: relative L2 {overall:F4}");
        // The output layers' gradients pass no instance norm: one bfloat16 rounding of their
        // inputs and upstream gradients (2^-9 relative each), so well within 2 %.
        foreach (var name in expected.Keys.Where(n => n.StartsWith("output_block", StringComparison.Ordinal) || n.StartsWith("deep_supervision_heads", StringComparison.Ordinal)))
            Assert.True(Relative(runs[0][name], expected[name]) < 0.02, $"{name}: {Relative(runs[0][name], expected[name]):F4}");
        // Deeper, each instance norm's backward removes the mean and the normalised-input part of a
        // bfloat16-rounded gradient, leaving a small remainder that carries the rounding's absolute
        // error: 0.14 overall was measured here when this was written (up to 0.6 for single tensors
        // in the middle of the net); libtorch's wrong kernel at the bottleneck gave 1e30 and more.
        Assert.True(overall < 0.4, $"bfloat16 gradients are {overall:F4} (relative L2) from float32's");
    }
}
