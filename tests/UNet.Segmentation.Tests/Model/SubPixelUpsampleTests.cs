using TorchSharp;
using UNet.Segmentation.Model;
using UNet.Segmentation.Model.Blocks;
using UNet.Segmentation.Model.Precision;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace UNet.Segmentation.Tests.Model;

public class SubPixelUpsampleTests
{
    /// <summary>The definition: the stride-2 transposed convolution, cropped to its first 2n rows and columns.</summary>
    private static Tensor Cropped(Tensor x, Tensor w, Tensor b)
    {
        var full = F.conv_transpose2d(x, w, b, strides: [2, 2]);
        return full.narrow(2, 0, 2 * x.shape[2]).narrow(3, 0, 2 * x.shape[3]);
    }

    [Theory]
    [InlineData(false, 1, 6)]
    [InlineData(true, 2, 5)]
    public void Float32_EqualsTheCroppedTransposedConvolution_WithTheSameGradients(bool channelsLast, int batch, int size)
    {
        manual_seed(11);
        using var scope = NewDisposeScope();
        var x = randn(batch, 8, size, size);
        if (channelsLast) x = ChannelsLast.Of(x);
        x.requires_grad_(true);
        var w = randn(8, 4, 3, 3).requires_grad_(true);
        var b = randn(4).requires_grad_(true);
        var upstream = randn(batch, 4, 2 * size, 2 * size);

        var expected = Cropped(x, w, b);
        var actual = SubPixelUpsample.Forward(x, w, b);

        Assert.Equal(expected.shape, actual.shape);
        Assert.Equal(channelsLast, ChannelsLast.Is(actual));
        Assert.True(actual.allclose(expected, rtol: 1e-5, atol: 1e-5), $"outputs differ by {(actual - expected).abs().max().item<float>():E2}");
        var want = torch.autograd.grad([expected], [x, w, b], [upstream]);
        var got = torch.autograd.grad([actual], [x, w, b], [upstream]);
        for (int i = 0; i < 3; i++)
            Assert.True(got[i].allclose(want[i], rtol: 1e-4, atol: 1e-4), $"gradient {i} differs by {(got[i] - want[i]).abs().max().item<float>():E2}");
    }

    [Fact]
    public void BlocksUpsample_TakesTheSubPixelForm_InBFloat16_AndMatchesTheTransposedConvolution()
    {
        manual_seed(12);
        using var scope = NewDisposeScope();
        using var upconv = nn.ConvTranspose2d(16, 8, 3, stride: 2);
        var x32 = ChannelsLast.Of(randn(1, 16, 7, 7));
        var expected = Cropped(x32, upconv.weight!, upconv.bias!).relu();

        upconv.to(ScalarType.BFloat16);
        Assert.True(SubPixelUpsample.Preferred(upconv.weight!));
        var x = x32.to(ScalarType.BFloat16);
        var actual = Blocks.Upsample(upconv, x, Upsampling.TransposedConv3x3);
        var direct = Cropped(x, upconv.weight!, upconv.bias!).relu();

        Assert.Equal(ScalarType.BFloat16, actual.dtype);
        Assert.True(ChannelsLast.Is(actual), "the layout did not last through the up-sampling");
        // Both bfloat16 forms round one float32 sum of the same products: at most a unit or two in the last place apart.
        double scale = expected.abs().max().item<float>();
        Assert.True(actual.to(ScalarType.Float32).allclose(direct.to(ScalarType.Float32), rtol: 1.0 / 64, atol: scale / 256), "the sub-pixel form differs from bfloat16's transposed convolution");
        Assert.True(actual.to(ScalarType.Float32).allclose(expected, rtol: 1.0 / 32, atol: scale / 64), "the sub-pixel form is not the float32 result in bfloat16");
    }

    [Fact]
    public void Forward_RejectsAWeightThatIsNot3x3()
    {
        using var scope = NewDisposeScope();
        var e = Assert.Throws<ArgumentException>(() => SubPixelUpsample.Forward(randn(1, 8, 4, 4), randn(8, 4, 2, 2), null));
        Assert.Equal("weight", e.ParamName);
        Assert.Equal("x", Assert.Throws<ArgumentException>(() => SubPixelUpsample.Forward(randn(1, 6, 4, 4), randn(8, 4, 3, 3), null)).ParamName);
    }
}
