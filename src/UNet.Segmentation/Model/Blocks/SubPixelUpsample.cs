using TorchSharp;
using UNet.Segmentation.Model.Precision;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace UNet.Segmentation.Model.Blocks;

/// <summary>
/// The 3×3 stride-2 up-convolution, cropped to its first 2n rows and columns, computed as a
/// sub-pixel convolution: one ordinary 2×2 convolution gives the four output phases (even or odd
/// row × even or odd column) as 4·out channels, and <c>pixel_shuffle(2)</c> interleaves them.
/// Output row 2i takes kernel row 0 from input row i and kernel row 2 from row i − 1; row 2i + 1
/// takes kernel row 1 from row i alone (its other tap is zero); columns likewise — so the input
/// is padded by one zero row and column at the top and left, and phase (a, b)'s 2×2 weight is
/// the 3×3 kernel, zero-extended to 4×4, gathered at rows and columns {2, 0} (even) or {3, 1}
/// (odd). The same values meet in the same products as in the transposed convolution (the
/// export's <c>SubPixelUpsampling</c> derives it), summed in another order. Differentiable:
/// the gathered weight is built from the transposed convolution's own weight every call, so
/// gradients reach it.
/// <para>
/// <see cref="Blocks.Upsample"/> takes this form where it is faster: bfloat16 on the CPU, where
/// libtorch 2.10's stride-2 transposed convolution runs at 66–455 GFLOP/s on the reference's
/// shapes against about 1,000 for a 3×3 convolution (docs/performance.md, the per-operator
/// profile). Float32 keeps <c>conv_transpose2d</c>, which measured faster there.
/// </para>
/// </summary>
public static class SubPixelUpsample
{
    // Phase 0 reads kernel rows 2 then 0 (input rows i − 1, i), phase 1 rows 3 (the zero row) then 1.
    private static readonly long[] Taps = [2, 0, 3, 1];

    /// <summary>Whether <see cref="Blocks.Upsample"/> computes a 3×3 up-convolution with these weights in this form: bfloat16 on the CPU.</summary>
    public static bool Preferred(Tensor weight)
    {
        ArgumentNullException.ThrowIfNull(weight);
        return weight.dtype == ScalarType.BFloat16 && weight.device_type == DeviceType.CPU;
    }

    /// <summary>
    /// <c>conv_transpose2d(x, weight, bias, stride 2)</c> cropped to 2n × 2n, for an N×in×n×n
    /// <paramref name="x"/> and an in×out×3×3 <paramref name="weight"/>; channels-last in,
    /// channels-last out. The result belongs to the caller's dispose scope.
    /// </summary>
    /// <exception cref="ArgumentException">The weight is not in × out × 3 × 3, or x does not have its in channels.</exception>
    public static Tensor Forward(Tensor x, Tensor weight, Tensor? bias)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(weight);
        long[] s = weight.shape;
        if (s.Length != 4 || s[2] != 3 || s[3] != 3)
            throw new ArgumentException($"a 3×3 transposed convolution's weight is in × out × 3 × 3, not [{string.Join(", ", s)}]", nameof(weight));
        if (x.Dimensions != 4 || x.shape[1] != s[0])
            throw new ArgumentException($"the input must be N×{s[0]}×H×W; got [{string.Join(", ", x.shape)}]", nameof(x));
        using var scope = NewDisposeScope();
        long input = s[0], output = s[1];
        bool channelsLast = ChannelsLast.Is(x);
        var taps = tensor(Taps, device: weight.device);
        var phases = F.pad(weight, [0, 1, 0, 1]).index_select(2, taps).index_select(3, taps) // in × out × (a, t) × (b, u)
            .reshape(input, output, 2, 2, 2, 2)
            .permute(1, 2, 4, 0, 3, 5)                                                       // out, a, b, in, t, u
            .reshape(output * 4, input, 2, 2);                                               // channel 4o + 2a + b, as pixel_shuffle reads it
        var padded = F.pad(x, [1, 0, 1, 0]);
        if (channelsLast)
        {
            phases = ChannelsLast.Of(phases);
            if (!ChannelsLast.Is(padded)) padded = ChannelsLast.Of(padded);
        }
        var up = F.pixel_shuffle(F.conv2d(padded, phases, bias?.repeat_interleave(4)), 2);
        if (channelsLast && !ChannelsLast.Is(up)) up = ChannelsLast.Of(up);
        return up.MoveToOuterDisposeScope();
    }
}
