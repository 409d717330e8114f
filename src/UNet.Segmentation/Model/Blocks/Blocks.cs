using UNet.Segmentation.Torch;
using UNet.Segmentation.Torch.NN;

namespace UNet.Segmentation.Model.Blocks;

/// <summary>
/// The operations the U-Net's blocks share: the centre crop of a skip connection and the
/// decoder's up-sampling (TensorFlow 'same' 3×3 transposed conv, or the paper's 2×2).
/// </summary>
public static class Blocks
{
    /// <summary>The centre <paramref name="height"/>×<paramref name="width"/> of an N×C×H×W tensor, symmetric: (H − height)/2 per side.</summary>
    public static Tensor CenterCrop(Tensor skip, long height, long width)
    {
        ArgumentNullException.ThrowIfNull(skip);
        long h = skip.Size(2), w = skip.Size(3);
        if (h < height || w < width || (h - height) % 2 != 0 || (w - width) % 2 != 0)
            throw new ArgumentException($"cannot centre-crop {h}x{w} to {height}x{width}", nameof(skip));
        if (h == height && w == width) return skip.Alias();
        using var rows = skip.Narrow(2, (h - height) / 2, height);
        return rows.Narrow(3, (w - width) / 2, width);
    }

    /// <summary>
    /// Doubles the resolution. 3×3: the full stride-2 transposed conv (2n+1) cropped to its first
    /// 2n pixels — TensorFlow's 'same' arithmetic — then ReLU (in place). 2×2: the stride-2
    /// transposed conv (exactly 2n), linear.
    /// </summary>
    public static Tensor Upsample(ConvTranspose2d upconv, Tensor x, Upsampling kind)
    {
        ArgumentNullException.ThrowIfNull(upconv);
        ArgumentNullException.ThrowIfNull(x);
        // The same numbers as upconv.Forward(x) cropped to 2n, through the sub-pixel form that
        // runs on oneDNN (Functional.ConvTranspose2dStride2; docs/performance.md measures it).
        var up = Functional.ConvTranspose2dStride2(x, upconv.Weight, upconv.Bias);
        return kind == Upsampling.TransposedConv2x2 ? up : up.Relu_();
    }

    /// <summary>The transposed conv of an up-sampling step: kernel 3 or 2, stride 2, no padding.</summary>
    internal static ConvTranspose2d NewUpconv(long inChannels, long outChannels, Upsampling kind) =>
        new(inChannels, outChannels, kind == Upsampling.TransposedConv3x3 ? 3 : 2, stride: 2);

    /// <summary>Applies the options' initialisation to every conv of a block.</summary>
    internal static void Initialize(Module block, WeightInit init)
    {
        if (init == WeightInit.PyTorchDefault) return; // the layers start that way
        foreach (var (name, p) in block.NamedParameters())
        {
            bool isBatchNorm = name.Contains("bn", StringComparison.Ordinal);
            if (isBatchNorm) continue;
            if (name.EndsWith("bias", StringComparison.Ordinal)) Init.Zeros_(p);
            else if (init == WeightInit.GlorotUniform) Init.XavierUniform_(p);
            else Init.KaimingNormal_(p, nonlinearity: Nonlinearity.Relu);
        }
    }
}
