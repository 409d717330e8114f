using TorchSharp;
using static TorchSharp.torch;

namespace UNet.Segmentation.Tests.Model;

/// <summary>
/// What a bfloat16 working copy of the nnU-Net may rely on: libtorch's CPU instance norm with
/// float32 affine weights takes a bfloat16 input, returns bfloat16, gives float32 gradients to its
/// weights, and agrees with the float32 norm to bfloat16's precision.
/// </summary>
public class NnUNetBFloat16NormTests
{
    [Fact]
    public void InstanceNorm3d_TakesBFloat16InputWithFloat32Affine()
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        using var norm = nn.InstanceNorm3d(4, affine: true);
        using (no_grad())
        {
            norm.weight!.uniform_(0.5, 1.5);
            norm.bias!.uniform_(-0.5, 0.5);
        }
        var x = randn(new long[] { 2, 4, 4, 6, 5 }).mul(3).add(1);
        var expected = norm.forward(x);
        var input = x.to(ScalarType.BFloat16).requires_grad_();
        var y = norm.forward(input);
        Assert.Equal(ScalarType.BFloat16, y.dtype);
        double diff = y.to(ScalarType.Float32).sub(expected).abs().max().item<float>();
        Assert.True(diff < 0.05, $"bfloat16 instance norm differs from float32's by {diff}");
        y.to(ScalarType.Float32).square().sum().backward();
        Assert.Equal(ScalarType.Float32, norm.weight!.grad!.dtype);
        Assert.Equal(ScalarType.BFloat16, input.grad!.dtype);
        Assert.True(norm.weight.grad.abs().sum().item<float>() > 0);
    }
}
