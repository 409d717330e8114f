using TorchSharp;
using UNet.Segmentation.Model.NnUNet;
using static TorchSharp.torch;

namespace UNet.Segmentation.Tests.Model;

/// <summary>
/// The nnU-Net's 3-D convolution in bfloat16 where libtorch 2.10's CPU kernel gets the weight
/// gradient wrong: an input of depth 2 under a 3×3×3 kernel, a batch of 2, 16 channels — the 2×2×2
/// bottleneck of a 16³ patch. <see cref="NnUNetConv"/> computes such a call in float32.
/// </summary>
public class NnUNetBFloat16ConvTests(ITestOutputHelper output)
{
    private static readonly int[] Three = [3, 3, 3], One = [1, 1, 1];

    /// <summary>The weight gradient of <paramref name="run"/> on (bfloat16-exact) x and dy, in float32.</summary>
    private static Tensor WeightGradient(Tensor weight, Tensor x, Tensor dy, ScalarType type, Func<Tensor, Tensor, Tensor> run)
    {
        var w = weight.to(type).detach().requires_grad_();
        var y = run(x.to(type), w);
        y.backward(new[] { dy.to(type) });
        return w.grad!.to(ScalarType.Float32);
    }

    private static double Relative(Tensor a, Tensor b) => a.sub(b).norm().item<float>() / b.norm().item<float>();

    [Theory]
    [InlineData(2, 2, 2)]
    [InlineData(2, 8, 8)]
    public void ShortDepth_BFloat16WeightGradient_AgreesWithFloat32(long depth, long height, long width)
    {
        using var scope = NewDisposeScope();
        manual_seed(1);
        using var conv = new NnUNetConv(3, 16, 16, Three, One, bias: false, transposed: false);
        // Values exact in bfloat16, so that both precisions see the same numbers.
        var x = randn(new long[] { 2, 16, depth, height, width }).to(ScalarType.BFloat16).to(ScalarType.Float32);
        var dy = randn(new long[] { 2, 16, depth, height, width }).to(ScalarType.BFloat16).to(ScalarType.Float32);
        var weight = conv.Layer.weight!.detach().to(ScalarType.BFloat16).to(ScalarType.Float32);
        Assert.True(conv.ComputesInFloat32(x.to(ScalarType.BFloat16)));

        var expected = WeightGradient(weight, x, dy, ScalarType.Float32, (xi, wi) => nn.functional.conv3d(xi, wi, padding: new long[] { 1, 1, 1 }));
        // The layer as the bfloat16 working copy holds it: its weight in bfloat16.
        conv.to(ScalarType.BFloat16);
        using (no_grad()) conv.Layer.weight!.copy_(weight);
        var got = new List<Tensor>();
        for (int i = 0; i < 3; i++)
        {
            conv.zero_grad();
            conv.forward(x.to(ScalarType.BFloat16)).backward(new[] { dy.to(ScalarType.BFloat16) });
            got.Add(conv.Layer.weight!.grad!.to(ScalarType.Float32));
        }
        // libtorch's own kernel at this shape, for the record (not asserted: a later libtorch may fix it).
        var raw = WeightGradient(weight, x, dy, ScalarType.BFloat16, (xi, wi) => nn.functional.conv3d(xi, wi, padding: new long[] { 1, 1, 1 }));
        output.WriteLine($"input 2×16×{depth}×{height}×{width}: NnUNetConv's bf16 weight gradient is {Relative(got[0], expected):E2} from float32's (relative L2); libtorch's own bf16 Conv3d {Relative(raw, expected):E2}");

        // One bfloat16 rounding of the gradient (2^-9 relative) and of nothing else: well inside 1 %.
        Assert.All(got, g => Assert.True(Relative(g, expected) < 0.01, $"bf16 weight gradient {Relative(g, expected):E2} from float32's"));
        Assert.All(got.Skip(1), g => Assert.True(g.equal(got[0]).all().item<bool>(), "the same call gave another gradient"));
    }

    [Fact]
    public void OnlyLowPrecisionInputsShorterThanTheKernel_AreComputedInFloat32()
    {
        using var scope = NewDisposeScope();
        using var conv = new NnUNetConv(3, 16, 16, Three, One, bias: false, transposed: false);
        using var flat = new NnUNetConv(3, 16, 16, [1, 3, 3], One, bias: false, transposed: false);
        using var up = new NnUNetConv(3, 16, 16, [2, 2, 2], [2, 2, 2], bias: true, transposed: true);
        Tensor Input(long d, long h, long w, ScalarType type) => zeros(new long[] { 2, 16, d, h, w }, type);
        Assert.True(conv.ComputesInFloat32(Input(2, 2, 2, ScalarType.BFloat16)));
        Assert.True(conv.ComputesInFloat32(Input(4, 2, 4, ScalarType.BFloat16)));
        Assert.False(conv.ComputesInFloat32(Input(3, 3, 3, ScalarType.BFloat16)));
        Assert.False(conv.ComputesInFloat32(Input(2, 2, 2, ScalarType.Float32)));
        Assert.False(flat.ComputesInFloat32(Input(1, 4, 4, ScalarType.BFloat16)));
        Assert.False(up.ComputesInFloat32(Input(1, 1, 1, ScalarType.BFloat16)));

        // Computed in float32, the result comes back in the input's type and the casts are counted.
        conv.to(ScalarType.BFloat16);
        var y = conv.forward(Input(2, 2, 2, ScalarType.BFloat16));
        Assert.Equal(ScalarType.BFloat16, y.dtype);
        Assert.Equal([2L, 16, 2, 2, 2], y.shape);
        Assert.Equal(3, conv.Casts); // input, weight, result
        conv.forward(Input(4, 4, 4, ScalarType.BFloat16)).Dispose();
        Assert.Equal(3, conv.Casts);
    }
}
