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

    /// <summary>The decoder's input: <paramref name="upsampled"/> and the centre crop of <paramref name="skip"/> to its size, concatenated along the channels.</summary>
    public static Tensor Concatenate(Tensor upsampled, Tensor skip)
    {
        ArgumentNullException.ThrowIfNull(upsampled);
        ArgumentNullException.ThrowIfNull(skip);
        using var cropped = CropForGradient(skip, upsampled.shape[2], upsampled.shape[3]);
        return cat([upsampled, cropped], 1);
    }

    /// <summary>
    /// The centre crop of a skip. A view (<see cref="Blocks.CenterCrop"/>) unless the skip is
    /// channels-last and needs a gradient: a view's backward (libtorch's slice backward) makes the
    /// skip's gradient as a contiguous zero tensor, so the gradient that meets the pooling's
    /// channels-last one, and every layer below, would mix layouts — there the crop is a negative
    /// padding, whose backward pads the gradient in its own (channels-last) layout. Same values both ways.
    /// </summary>
    private static Tensor CropForGradient(Tensor skip, long height, long width)
    {
        var view = Blocks.CenterCrop(skip, height, width);
        if (!skip.requires_grad || !Precision.ChannelsLast.Is(skip)) return view;
        view.Dispose();
        long top = (skip.shape[2] - height) / 2, left = (skip.shape[3] - width) / 2;
        return nn.functional.pad(skip, [-left, -left, -top, -top]);
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
