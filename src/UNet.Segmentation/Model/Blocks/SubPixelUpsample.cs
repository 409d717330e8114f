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
    // Phase (a, b)'s tap (t, u) reads kernel row r(a, t) and column r(b, u), r = {2, 0} for phase 0
    // (input rows i − 1, i) and {−, 1} for phase 1, whose first tap is zero: as an index into the
    // 3×3 kernel flattened (3r + c) with a zero appended at 9, in the order (a, b, t, u).
    private static readonly long[] Taps = BuildTaps();

    private static long[] BuildTaps()
    {
        long[] rows = [2, 0, -1, 1]; // r at index 2·phase + tap; −1: the zero tap
        var taps = new long[16];
        for (int a = 0; a < 2; a++)
            for (int b = 0; b < 2; b++)
                for (int t = 0; t < 2; t++)
                    for (int u = 0; u < 2; u++)
                    {
                        long r = rows[2 * a + t], c = rows[2 * b + u];
                        taps[8 * a + 4 * b + 2 * t + u] = r < 0 || c < 0 ? 9 : 3 * r + c;
                    }
        return taps;
    }

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
        // out × 9 × in (a view for the contiguous and the channels-last weight alike), a zero tap
        // appended, gathered to out × (a, b, t, u) × in: viewed as (4·out) × 2 × 2 × in and
        // permuted, the sub-pixel weight (channel 4o + 2a + b, as pixel_shuffle reads it) laid out
        // channels-last, with two copies and no more.
        var flat = weight.permute(1, 2, 3, 0).reshape(output, 9, input);
        var phases = F.pad(flat, [0, 0, 0, 1]).index_select(1, taps).view(output * 4, 2, 2, input).permute(0, 3, 1, 2);
        var padded = F.pad(x, [1, 0, 1, 0]);
        if (channelsLast)
        {
            if (!ChannelsLast.Is(padded)) padded = ChannelsLast.Of(padded);
        }
        else
            phases = phases.contiguous();
        var up = F.pixel_shuffle(F.conv2d(padded, phases, bias?.repeat_interleave(4)), 2);
        if (channelsLast && !ChannelsLast.Is(up)) up = ChannelsLast.Of(up);
        return up.MoveToOuterDisposeScope();
    }
}
