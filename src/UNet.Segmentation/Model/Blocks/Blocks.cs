using TorchSharp.Modules;
using static TorchSharp.torch;

namespace UNet.Segmentation.Model.Blocks;

/// <summary>
/// The operations the U-Net's blocks share: the centre crop of a skip connection and the
/// decoder's up-sampling (TensorFlow 'same' 3×3 transposed conv, or the paper's 2×2). No block
/// casts: every layer runs in the type of its weights, which the input must match (float32, or
/// the compute type of a <see cref="Precision.MixedPrecisionModel"/>'s working copy).
/// </summary>
public static class Blocks
{
    /// <summary>The centre <paramref name="height"/>×<paramref name="width"/> of an N×C×H×W tensor, symmetric: (H − height)/2 per side.</summary>
    public static Tensor CenterCrop(Tensor skip, long height, long width)
    {
        ArgumentNullException.ThrowIfNull(skip);
        long h = skip.shape[2], w = skip.shape[3];
        if (h < height || w < width || (h - height) % 2 != 0 || (w - width) % 2 != 0)
            throw new ArgumentException($"cannot centre-crop {h}x{w} to {height}x{width}", nameof(skip));
        if (h == height && w == width) return skip.alias();
        using var rows = skip.narrow(2, (h - height) / 2, height);
        return rows.narrow(3, (w - width) / 2, width);
    }

    /// <summary>
    /// Doubles the resolution. 3×3: the full stride-2 transposed conv (2n+1) cropped to its first
    /// 2n pixels — TensorFlow's 'same' arithmetic — then ReLU (in place); with bfloat16 weights on
    /// the CPU computed as the equivalent <see cref="SubPixelUpsample"/>, which runs there at the
    /// ordinary convolutions' rate. 2×2: the stride-2 transposed conv (exactly 2n), linear.
    /// </summary>
    public static Tensor Upsample(ConvTranspose2d upconv, Tensor x, Upsampling kind)
    {
        ArgumentNullException.ThrowIfNull(upconv);
        ArgumentNullException.ThrowIfNull(x);
        if (kind == Upsampling.TransposedConv3x3 && SubPixelUpsample.Preferred(upconv.weight!))
            return SubPixelUpsample.Forward(x, upconv.weight!, upconv.bias).relu_(); // pixel_shuffle's backward needs no output
        var full = upconv.forward(x);
        if (kind == Upsampling.TransposedConv2x2) return full;
        using (full)
        {
            using var rows = full.narrow(2, 0, 2 * x.shape[2]);
            // ReLU in place on the cropped view: the concatenation that follows copies anyway.
            return rows.narrow(3, 0, 2 * x.shape[3]).relu_();
        }
    }

    /// <summary>The transposed conv of an up-sampling step: kernel 3 or 2, stride 2, no padding.</summary>
    internal static ConvTranspose2d NewUpconv(long inChannels, long outChannels, Upsampling kind) =>
        nn.ConvTranspose2d(inChannels, outChannels, kind == Upsampling.TransposedConv3x3 ? 3 : 2, stride: 2);

    /// <summary>Applies the options' initialisation to every conv of a block.</summary>
    internal static void Initialize(nn.Module block, WeightInit init)
    {
        if (init == WeightInit.PyTorchDefault) return; // the layers start that way
        using var noGrad = no_grad();
        foreach (var (name, p) in block.named_parameters())
        {
            if (name.Contains("bn", StringComparison.Ordinal)) continue;
            if (name.EndsWith("bias", StringComparison.Ordinal)) nn.init.zeros_(p);
            else if (init == WeightInit.GlorotUniform) nn.init.xavier_uniform_(p);
            else nn.init.kaiming_normal_(p, nonlinearity: nn.init.NonlinearityType.ReLU);
        }
    }
}
