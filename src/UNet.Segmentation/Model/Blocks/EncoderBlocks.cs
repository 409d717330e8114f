using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace UNet.Segmentation.Model.Blocks;

/// <summary>The first block: two 3×3 convs on the image, the result kept as the skip, then 2×2 max pooling.</summary>
public class InputBlock : ConvBlock
{
    /// <summary>Creates the block for <paramref name="inChannels"/> → <paramref name="filters"/>.</summary>
    public InputBlock(long inChannels, long filters, UNetOptions options) : base(nameof(InputBlock), inChannels, filters, options) => InitializeWeights();

    /// <summary>Returns the pooled tensor for the next level and the skip for the decoder.</summary>
    public (Tensor Pooled, Tensor Skip) Forward(Tensor input)
    {
        var skip = Convolve(input);
        return (F.max_pool2d(skip, [2, 2]), skip);
    }
}

/// <summary>A contracting step below the input block (128, 256, 512 filters in the reference): the same structure.</summary>
public sealed class DownsampleBlock : InputBlock
{
    /// <summary>Creates the block for <paramref name="inChannels"/> → <paramref name="filters"/>.</summary>
    public DownsampleBlock(long inChannels, long filters, UNetOptions options) : base(inChannels, filters, options) { }
}

/// <summary>
/// The bottom of the U: two 3×3 convs (1024 filters in the reference), dropout in training, then
/// up-sampling to half the filters (<c>upconv</c>).
/// </summary>
public sealed class Bottleneck : ConvBlock
{
    private readonly ConvTranspose2d _upconv;

    /// <summary>Creates the block for <paramref name="inChannels"/> → <paramref name="filters"/> → filters/2.</summary>
    public Bottleneck(long inChannels, long filters, UNetOptions options) : base(nameof(Bottleneck), inChannels, filters, options)
    {
        _upconv = Blocks.NewUpconv(filters, filters / 2, options.Upsampling);
        register_module("upconv", _upconv);
        InitializeWeights();
    }

    /// <summary>Returns the up-sampled tensor.</summary>
    public Tensor Forward(Tensor input)
    {
        using var x = Convolve(input);
        if (!training || Options.DropoutRate == 0) return Blocks.Upsample(_upconv, x, Options.Upsampling);
        using var dropped = F.dropout(x, Options.DropoutRate, training: true);
        return Blocks.Upsample(_upconv, dropped, Options.Upsampling);
    }
}
