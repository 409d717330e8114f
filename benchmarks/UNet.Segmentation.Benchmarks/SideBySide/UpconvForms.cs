using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace UNet.Segmentation.Benchmarks.SideBySide;

/// <summary>
/// The reference U-Net's up-convolution (a 3×3 transposed convolution with stride 2, its 2n+1
/// output cropped to 2n, TensorFlow's 'same' arithmetic) in the two forms the <c>upconv</c>
/// command sets side by side. Both take the transposed convolution's own weight (in × out × 3 × 3)
/// and bias, so a gradient through either reaches the same parameters.
/// </summary>
public static class UpconvForms
{
    /// <summary>What the library computes: <c>conv_transpose2d(x, w, b, stride 2)</c>, cropped to the first 2n rows and columns.</summary>
    public static Tensor ConvTranspose(Tensor x, Tensor weight, Tensor bias)
    {
        using var full = F.conv_transpose2d(x, weight, bias, strides: [2, 2]);
        using var rows = full.narrow(2, 0, 2 * x.shape[2]);
        return rows.narrow(3, 0, 2 * x.shape[3]);
    }

    /// <summary>
    /// The sub-pixel form: one ordinary 2×2 convolution computes the four output phases (even or
    /// odd row × even or odd column) as 4·out channels, and <c>pixel_shuffle(2)</c> interleaves
    /// them. Output row 2i takes kernel row 2 from input row i−1 and kernel row 0 from row i;
    /// row 2i+1 takes kernel row 1 from row i alone (its other tap is zero); columns likewise.
    /// So the input is padded by one at the top and left, and the 2×2 weight of phase (a, b) is
    /// gathered from the 3×3 kernel, zero-extended to 4×4, at rows/columns {2, 0} (even) or
    /// {3, 1} (odd).
    /// </summary>
    public static Tensor SubPixel(Tensor x, Tensor weight, Tensor bias)
    {
        using var scope = NewDisposeScope();
        long input = weight.shape[0], output = weight.shape[1];
        var extended = F.pad(weight, [0, 1, 0, 1]);                       // in × out × 4 × 4, tap 3 is zero
        var taps = tensor(new long[] { 2, 0, 3, 1 }, device: weight.device); // (phase, tap) → kernel index
        var phases = extended.index_select(2, taps).index_select(3, taps)   // in × out × (a,ti) × (b,tj)
            .view(input, output, 2, 2, 2, 2)                                // in, out, a, ti, b, tj
            .permute(1, 2, 4, 0, 3, 5)                                      // out, a, b, in, ti, tj
            .reshape(output * 4, input, 2, 2);                              // channel o·4 + a·2 + b, as pixel_shuffle reads it
        var padded = F.pad(x, [1, 0, 1, 0]);
        var y = F.conv2d(padded, phases, bias.repeat_interleave(4));
        return F.pixel_shuffle(y, 2).MoveToOuterDisposeScope();
    }
}
