using System.Runtime.InteropServices;
using TorchSharp;
using UNet.Segmentation.Model;
using UNet.Segmentation.Model.Precision;
using UNet.Segmentation.Tests.Shared;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace UNet.Segmentation.Tests.Model;

[Collection("LiveTensors")]
public class MixedPrecisionModelTests(ITestOutputHelper output)
{
    private static UNetOptions Small(bool batchNorm = false, Upsampling up = Upsampling.TransposedConv3x3, bool channelsLast = false) =>
        UNetOptions.Reference with { BaseFilters = 4, Depth = 2, InputSize = 44, BatchNorm = batchNorm, Upsampling = up, DropoutRate = 0, ChannelsLast = channelsLast };

    public static TheoryData<bool, Upsampling, bool> Variants() => new()
    {
        { false, Upsampling.TransposedConv3x3, false },
        { true, Upsampling.TransposedConv2x2, false },
        { false, Upsampling.TransposedConv3x3, true },
    };

    [Theory]
    [MemberData(nameof(Variants))]
    public void WorkingCopy_HoldsTheConvolutionsInBFloat16_AndGivesLogitsCloseToFloat32(bool batchNorm, Upsampling up, bool channelsLast)
    {
        manual_seed(5);
        using var master = new UNetModel(Small(batchNorm, up, channelsLast));
        master.eval();
        using var scope = NewDisposeScope();
        var before = master.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        using var mixed = new MixedPrecisionModel(master, ScalarType.BFloat16);
        mixed.Working.eval();

        // Convolution weights and biases in bfloat16 with the master's layout; batch norm float32; the master untouched.
        foreach (var (name, p) in mixed.Working.named_parameters())
        {
            var m = master.named_parameters().Single(q => q.name == name).parameter;
            Assert.Equal(name.Contains(".bn", StringComparison.Ordinal) ? ScalarType.Float32 : ScalarType.BFloat16, p.dtype);
            Assert.Equal(ChannelsLast.Is(m), ChannelsLast.Is(p));
            Assert.True(p.to(ScalarType.Float32).allclose(m, rtol: 1.0 / 128, atol: 1e-30), $"{name} is not the master's value in bfloat16");
        }
        Assert.Equal(master.named_parameters().Count(p => !p.name.Contains(".bn", StringComparison.Ordinal)), mixed.CastParameterCount);
        foreach (var (name, t) in master.state_dict())
        {
            Assert.True(t.dtype == ScalarType.Float32 || t.dtype == ScalarType.Int64, $"{name} is {t.dtype}");
            Assert.True(t.eq(before[name]).all().item<bool>(), $"{name} of the master changed");
        }

        var x = randn(2, 1, 44, 44);
        var reference = master.forward(x);
        var logits = mixed.Forward(x);
        Assert.Equal(ScalarType.BFloat16, logits.dtype);
        Assert.Equal(reference.shape, logits.shape);
        if (channelsLast) Assert.True(ChannelsLast.Is(logits), "the layout did not last to the logits");
        Assert.Equal(1, mixed.Casts); // the input, once
        var asked = mixed.Forward(x, float32Logits: true);
        Assert.Equal(ScalarType.Float32, asked.dtype);
        Assert.Equal(3, mixed.Casts); // the input and the logits

        // bfloat16 keeps 8 significant bits (relative step 2⁻⁸): through ~10 convolutions the
        // logits stay within a few percent of the float32 ones, and are not identical.
        double scale = reference.abs().max().ToDouble();
        double diff = asked.sub(reference).abs().max().ToDouble(), mean = asked.sub(reference).abs().mean().ToDouble();
        output.WriteLine($"bfloat16 vs float32 logits: max |diff| {diff:E2}, mean {mean:E2}, max |logit| {scale:E2}");
        Assert.True(diff <= 0.05 * scale, $"bfloat16 logits differ by {diff:E3} (max |logit| {scale:E3})");
        Assert.True(mean <= 0.01 * scale, $"bfloat16 logits differ by {mean:E3} on average");
        Assert.True(diff > 0, "the bfloat16 logits equal the float32 ones: nothing ran in bfloat16");
    }

    [Fact]
    public void Blocks_CastNothing_AFloat32InputIntoTheBFloat16CopyIsRefusedByTheFirstConvolution()
    {
        using var master = new UNetModel(Small());
        using var mixed = new MixedPrecisionModel(master, ScalarType.BFloat16);
        using var scope = NewDisposeScope();
        // Were a block to cast, this would run; the forward pass is the layers as they are.
        Assert.ThrowsAny<ExternalException>(() => mixed.Working.forward(randn(1, 1, 44, 44)));
        Assert.Equal(ScalarType.BFloat16, mixed.Working.forward(randn(1, 1, 44, 44).to(ScalarType.BFloat16)).dtype);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Gradients_MatchFloat32WithinBFloat16Tolerance_OnTheMasters(bool batchNorm)
    {
        manual_seed(6);
        using var master = new UNetModel(Small(batchNorm));
        using var twin = new UNetModel(Small(batchNorm));
        StateDicts.LoadInto(twin, master.state_dict());
        using var scope = NewDisposeScope();
        var x = randn(2, 1, 44, 44);
        int outSize = master.OutputSize(44);
        var target = randint(0, 2, [2, outSize, outSize]);
        F.cross_entropy(twin.forward(x), target).backward();

        using var mixed = new MixedPrecisionModel(master, ScalarType.BFloat16);
        F.cross_entropy(mixed.Forward(x, float32Logits: true), target).backward();
        Assert.All(master.parameters(), p => Assert.Null(p.grad)); // backward reached the copy, not the master
        mixed.GradientsToMaster();
        Assert.Equal(2 + mixed.CastParameterCount, mixed.Casts); // input, logits, one per gradient
        Assert.All(mixed.Working.parameters(), p => Assert.Null(p.grad)); // the copy's gradients are dropped

        // bfloat16's 8 bits move each gradient by a few percent. Batch norm strips the gradient of
        // the weights before it of its mean and scale components, so what is left is small and moves
        // by more (about 20 % for the first convolutions of this 4-filter model; the former per-layer
        // casts computed the same bfloat16 values): each weight's gradient must point the float32
        // one's way, and all of them together lie within 10 % of it (20 % with batch norm).
        double errors = 0, sizes = 0;
        foreach (var ((name, p), (_, q)) in master.named_parameters().Zip(twin.named_parameters()))
        {
            var g = p.grad!;
            Assert.Equal(ScalarType.Float32, g.dtype);
            double error = g.sub(q.grad!).norm().ToDouble(), size = q.grad!.norm().ToDouble();
            double cosine = g.flatten().dot(q.grad!.flatten()).ToDouble() / (g.norm().ToDouble() * size);
            output.WriteLine($"{name}: |g_bf16 - g_f32| / |g_f32| = {error / size:E2}, cosine {cosine:F4}");
            // The weights the copy holds in bfloat16 (the 4-element vectors of batch norm and biases are too short for a direction).
            if (p.Dimensions == 4) Assert.True(cosine >= 0.95, $"{name}: the bfloat16 gradient points elsewhere (cosine {cosine:F4})");
            errors += error * error;
            sizes += size * size;
        }
        Assert.True(Math.Sqrt(errors) <= (batchNorm ? 0.2 : 0.1) * Math.Sqrt(sizes), $"the bfloat16 gradients are {Math.Sqrt(errors / sizes):P1} off the float32 ones");
        if (batchNorm) // the copy's training forward updated its running statistics; the master has them now
            foreach (var ((name, b), (_, c)) in master.named_buffers().Zip(mixed.Working.named_buffers()))
                Assert.True(b.eq(c).all().item<bool>(), $"{name} was not copied back");
    }

    [Fact]
    public void Refresh_CastsEachWeightOnce_AndTheCopyFollowsTheMaster()
    {
        using var master = new UNetModel(Small(batchNorm: true));
        using var mixed = new MixedPrecisionModel(master, ScalarType.BFloat16);
        using (no_grad())
            foreach (var p in master.parameters()) p.add_(1.0);
        mixed.Refresh();
        Assert.Equal(mixed.CastParameterCount, mixed.Casts);
        foreach (var ((name, m), (_, w)) in master.named_parameters().Zip(mixed.Working.named_parameters()))
            Assert.True(w.to(ScalarType.Float32).allclose(m, rtol: 1.0 / 128, atol: 0), $"{name} did not follow the master");
    }

    [Fact]
    public void Refuses_Float16OnCpu_OtherTypes_AndANonFloat32Master()
    {
        using var master = new UNetModel(Small());
        var e = Assert.Throws<ArgumentException>(() => new MixedPrecisionModel(master, ScalarType.Float16));
        Assert.Equal("computeType", e.ParamName);
        Assert.Contains("bfloat16", e.Message, StringComparison.Ordinal);
        Assert.Equal("computeType", Assert.Throws<ArgumentException>(() => new MixedPrecisionModel(master, ScalarType.Float32)).ParamName);
        Assert.Equal("computeType", Assert.Throws<ArgumentException>(() => new MixedPrecisionModel(master, ScalarType.Float64)).ParamName);
        using var bf16 = new UNetModel(Small());
        bf16.to(ScalarType.BFloat16);
        Assert.Equal("master", Assert.Throws<ArgumentException>(() => new MixedPrecisionModel(bf16, ScalarType.BFloat16)).ParamName);
    }

    [Fact]
    public void MakingACopy_LeavesTheGeneratorAlone_AndItsStepsLeaveNoTensor()
    {
        using var master = new UNetModel(Small(batchNorm: true));
        manual_seed(11);
        double expected;
        using (var scope = NewDisposeScope()) expected = rand(1).item<float>();

        long baseline = LiveTensors.SettledCount();
        manual_seed(11);
        using (var mixed = new MixedPrecisionModel(master, ScalarType.BFloat16))
        {
            using (var scope = NewDisposeScope()) Assert.Equal(expected, rand(1).item<float>());
            long made = LiveTensors.SettledCount();
            for (int step = 0; step < 3; step++)
            {
                using (var scope = NewDisposeScope())
                {
                    mixed.Forward(randn(1, 1, 44, 44), float32Logits: true).sum().backward();
                    mixed.GradientsToMaster();
                    mixed.Refresh();
                }
                Assert.Equal(made, LiveTensors.SettledCount()); // a step leaves nothing behind
            }
        }
        foreach (var p in master.parameters()) p.grad = null;
        // Disposed, the copy gives everything back but TorchSharp 0.107's bookkeeping: its
        // Parameter(Tensor) leaves one count per parameter it makes (see TrainingLeakTests).
        Assert.Equal(baseline + CopyBookkeeping(master), LiveTensors.SettledCount());
    }

    /// <summary>
    /// What making a working copy of <paramref name="master"/> leaves on TorchSharp 0.107's live
    /// tensor count for good: one per parameter of the copy's model, and one more per convolution
    /// tensor converted to the compute type (each conversion makes a new Parameter). Not tensors:
    /// the native memory is freed with the copy.
    /// </summary>
    internal static long CopyBookkeeping(UNetModel master) =>
        master.parameters().Count() + master.named_parameters().Count(p => !p.name.Contains(".bn", StringComparison.Ordinal));
}
