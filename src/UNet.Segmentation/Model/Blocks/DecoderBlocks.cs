using TorchSharp.Modules;
using static TorchSharp.torch;

namespace UNet.Segmentation.Model.Blocks;

/// <summary>
/// An expanding step (512, 256, 128 filters in the reference): concatenate the up-sampled
/// tensor with the centre-cropped skip (up-sampled first), two 3×3 convs, then up-sampling to
/// half the filters (<c>upconv</c>).
/// </summary>
public sealed class UpsampleBlock : ConvBlock
{
    private readonly ConvTranspose2d _upconv;

    /// <summary>Creates the block: its input has 2·<paramref name="filters"/> channels after the concatenation.</summary>
    public UpsampleBlock(long filters, UNetOptions options) : base(nameof(UpsampleBlock), 2 * filters, filters, options)
    {
        _upconv = Blocks.NewUpconv(filters, filters / 2, options.Upsampling);
        register_module("upconv", _upconv);
        InitializeWeights();
    }

    /// <summary>Returns the up-sampled result.</summary>
    public Tensor Forward(Tensor upsampled, Tensor skip)
    {
        using var x = Concatenate(upsampled, skip);
        using var y = Convolve(x);
        return Blocks.Upsample(_upconv, y, Options.Upsampling);
    }

    internal static Tensor Concatenate(Tensor upsampled, Tensor skip)
    {
        using var cropped = Blocks.CenterCrop(skip, upsampled.shape[2], upsampled.shape[3]);
        return cat([upsampled, cropped], 1);
    }
}

/// <summary>The last block: concatenate with the first skip, two 3×3 convs, and a 1×1 conv (<c>conv3</c>) to the class logits.</summary>
public sealed class OutputBlock : ConvBlock
{
    private readonly Conv2d _conv3;

    /// <summary>Creates the block: 2·<paramref name="filters"/> channels in, <paramref name="classes"/> logits out.</summary>
    public OutputBlock(long filters, long classes, UNetOptions options) : base(nameof(OutputBlock), 2 * filters, filters, options)
    {
        _conv3 = nn.Conv2d(filters, classes, 1);
        register_module("conv3", _conv3);
        InitializeWeights();
    }

    /// <summary>Returns the logits, N×classes×H×W.</summary>
    public Tensor Forward(Tensor upsampled, Tensor skip)
    {
        using var x = UpsampleBlock.Concatenate(upsampled, skip);
        using var y = Convolve(x);
        return _conv3.forward(y);
    }
}
