using TorchSharp;
using UNet.Segmentation.Model.Blocks;
using UNet.Segmentation.Model.Precision;
using static TorchSharp.torch;

namespace UNet.Segmentation.Tests.Model;

public class SkipConcatenationTests
{
    [Theory]
    [InlineData(false, ScalarType.Float32)]
    [InlineData(true, ScalarType.Float32)]
    [InlineData(true, ScalarType.BFloat16)]
    public void Concatenate_IsTheUpsampledAndTheCroppedSkip_AndTheSkipGradientKeepsItsLayout(bool channelsLast, ScalarType dtype)
    {
        manual_seed(21);
        using var scope = NewDisposeScope();
        Tensor Laid(Tensor t) => channelsLast ? ChannelsLast.Of(t) : t;
        var up = Laid(randn(2, 3, 6, 6).to(dtype)).requires_grad_(true);
        var skip = Laid(randn(2, 3, 10, 10).to(dtype)).requires_grad_(true);
        var upstream = Laid(randn(2, 6, 6, 6).to(dtype));

        var actual = UpsampleBlock.Concatenate(up, skip);
        var expected = cat([up, skip.narrow(2, 2, 6).narrow(3, 2, 6)], 1);

        Assert.True(actual.eq(expected).all().item<bool>(), "the concatenation is not the up-sampled tensor and the centre of the skip");
        var got = torch.autograd.grad([actual], [up, skip], [upstream]);
        var want = torch.autograd.grad([expected], [up, skip], [upstream]);
        Assert.True(got[0].eq(want[0]).all().item<bool>() && got[1].eq(want[1]).all().item<bool>(), "the gradients differ");
        Assert.Equal(channelsLast, ChannelsLast.Is(got[1]));
    }
}
