using UNet.Segmentation.Torch.Native;
using static UNet.Segmentation.Torch.Native.NativeMethods;
using static UNet.Segmentation.Torch.Native.NativeStatus;

namespace UNet.Segmentation.Torch;

/// <summary>Interpolation for <see cref="Functional.Interpolate"/> and <see cref="Functional.GridSample"/>.</summary>
public enum InterpolationMode
{
    /// <summary>Nearest neighbour.</summary>
    Nearest = 0,
    /// <summary>Bilinear.</summary>
    Bilinear = 1,
}

/// <summary>What <see cref="Functional.GridSample"/> reads outside the input.</summary>
public enum GridPadding
{
    /// <summary>Zeros.</summary>
    Zeros = 0,
    /// <summary>The nearest border value.</summary>
    Border = 1,
    /// <summary>The input mirrored at its border.</summary>
    Reflection = 2,
}

/// <summary>How a loss reduces over elements.</summary>
public enum Reduction
{
    /// <summary>One value per element.</summary>
    None = 0,
    /// <summary>The (weighted) mean.</summary>
    Mean = 1,
    /// <summary>The sum.</summary>
    Sum = 2,
}

/// <summary>Neural-network functions, as torch.nn.functional.</summary>
public static class Functional
{
    /// <summary>2-D convolution of N×C×H×W input with an O×(C/groups)×kH×kW weight.</summary>
    public static unsafe Tensor Conv2d(Tensor input, Tensor weight, Tensor? bias = null, Size2? stride = null, Size2? padding = null, Size2? dilation = null, long groups = 1)
    {
        long* a = stackalloc long[6];
        Pairs(a, stride ?? 1, padding ?? 0, dilation ?? 1);
        using var b = new HandleLease(bias);
        return Result(uts_conv2d(input.Handle, weight.Handle, b.Value, a, a + 2, a + 4, groups, out var r), r);
    }

    /// <summary>2-D transposed convolution with an C×(O/groups)×kH×kW weight.</summary>
    public static unsafe Tensor ConvTranspose2d(Tensor input, Tensor weight, Tensor? bias = null, Size2? stride = null, Size2? padding = null, Size2? outputPadding = null, long groups = 1, Size2? dilation = null)
    {
        long* a = stackalloc long[8];
        Pairs(a, stride ?? 1, padding ?? 0, outputPadding ?? 0);
        (dilation ?? 1).WriteTo(new Span<long>(a + 6, 2));
        using var b = new HandleLease(bias);
        return Result(uts_conv_transpose2d(input.Handle, weight.Handle, b.Value, a, a + 2, a + 4, groups, a + 6, out var r), r);
    }

    /// <summary>
    /// A stride-2, padding-0 transposed convolution with a 2×2 or 3×3 kernel (weight
    /// in×out×k×k) whose output is exactly twice the input: for 3×3 the first 2n rows and columns
    /// of the full 2n+1 (TensorFlow's 'same'). Equal to <see cref="ConvTranspose2d"/> with stride 2
    /// and that crop, within float rounding; on CPU it runs as one ordinary convolution over the
    /// four sub-pixel phases plus a pixel shuffle, several times faster than libtorch's CPU
    /// transposed convolution. Differentiable.
    /// </summary>
    public static Tensor ConvTranspose2dStride2(Tensor input, Tensor weight, Tensor? bias = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(weight);
        using var b = new HandleLease(bias);
        return Result(uts_conv_transpose2d_stride2(input.Handle, weight.Handle, b.Value, out var r), r);
    }

    /// <summary>2-D max pooling; the stride defaults to the kernel.</summary>
    public static unsafe Tensor MaxPool2d(Tensor input, Size2 kernel, Size2? stride = null, Size2? padding = null, Size2? dilation = null, bool ceilMode = false)
    {
        long* a = stackalloc long[8];
        Pairs(a, kernel, stride ?? kernel, padding ?? 0);
        (dilation ?? 1).WriteTo(new Span<long>(a + 6, 2));
        return Result(uts_max_pool2d(input.Handle, a, a + 2, a + 4, a + 6, ceilMode ? (byte)1 : (byte)0, out var r), r);
    }

    /// <summary>2-D average pooling; the stride defaults to the kernel.</summary>
    public static unsafe Tensor AvgPool2d(Tensor input, Size2 kernel, Size2? stride = null, Size2? padding = null, bool ceilMode = false, bool countIncludePad = true)
    {
        long* a = stackalloc long[6];
        Pairs(a, kernel, stride ?? kernel, padding ?? 0);
        return Result(uts_avg_pool2d(input.Handle, a, a + 2, a + 4, ceilMode ? (byte)1 : (byte)0, countIncludePad ? (byte)1 : (byte)0, out var r), r);
    }

    /// <summary>max(x, 0).</summary>
    public static Tensor Relu(Tensor input) => input.Relu();

    /// <summary>Zeroes elements with probability <paramref name="p"/> and scales the rest by 1/(1−p), when <paramref name="training"/>.</summary>
    public static Tensor Dropout(Tensor input, double p = 0.5, bool training = true)
    {
        if (p is < 0 or > 1 || double.IsNaN(p)) throw new ArgumentOutOfRangeException(nameof(p), p, "dropout probability must lie in [0, 1]");
        return Result(uts_dropout(input.Handle, p, training ? (byte)1 : (byte)0, out var r), r);
    }

    /// <summary>Batch normalisation; in training the running statistics are updated in place.</summary>
    public static Tensor BatchNorm(Tensor input, Tensor? runningMean, Tensor? runningVar, Tensor? weight = null, Tensor? bias = null, bool training = false, double momentum = 0.1, double eps = 1e-5)
    {
        using var w = new HandleLease(weight);
        using var b = new HandleLease(bias);
        using var m = new HandleLease(runningMean);
        using var v = new HandleLease(runningVar);
        return Result(uts_batch_norm(input.Handle, w.Value, b.Value, m.Value, v.Value, training ? (byte)1 : (byte)0, momentum, eps, out var r), r);
    }

    /// <summary>x·Wᵀ + b.</summary>
    public static Tensor Linear(Tensor input, Tensor weight, Tensor? bias = null)
    {
        using var b = new HandleLease(bias);
        return Result(uts_linear(input.Handle, weight.Handle, b.Value, out var r), r);
    }

    /// <summary>Resizes the last two dimensions of an N×C×H×W tensor (half-pixel centres unless <paramref name="alignCorners"/>, no antialias).</summary>
    public static Tensor Interpolate(Tensor input, long height, long width, InterpolationMode mode = InterpolationMode.Nearest, bool alignCorners = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        return Result(uts_interpolate2d(input.Handle, height, width, (int)mode, alignCorners ? (byte)1 : (byte)0, out var r), r);
    }

    /// <summary>Samples <paramref name="input"/> (N×C×H×W) at the normalised [−1, 1] coordinates of <paramref name="grid"/> (N×H'×W'×2, x first).</summary>
    public static Tensor GridSample(Tensor input, Tensor grid, InterpolationMode mode = InterpolationMode.Bilinear, GridPadding padding = GridPadding.Zeros, bool alignCorners = false) =>
        Result(uts_grid_sample(input.Handle, grid.Handle, (int)mode, (int)padding, alignCorners ? (byte)1 : (byte)0, out var r), r);

    /// <summary>The sampling grid of affine matrices <paramref name="theta"/> (N×2×3) for an output of <paramref name="size"/> (N, C, H, W).</summary>
    public static unsafe Tensor AffineGrid(Tensor theta, ReadOnlySpan<long> size, bool alignCorners = false)
    {
        if (size.Length != 4) throw new ArgumentException("size must be (N, C, H, W)", nameof(size));
        fixed (long* s = size) return Result(uts_affine_grid(theta.Handle, s, size.Length, alignCorners ? (byte)1 : (byte)0, out var r), r);
    }

    /// <summary>Softmax cross-entropy of logits (N×C×...) against class indices (N×..., int64) or class probabilities (same shape as the logits).</summary>
    public static Tensor CrossEntropy(Tensor logits, Tensor target, Tensor? weight = null, Reduction reduction = Reduction.Mean, long ignoreIndex = -100, double labelSmoothing = 0)
    {
        if (labelSmoothing is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(labelSmoothing), labelSmoothing, "label smoothing must lie in [0, 1]");
        using var w = new HandleLease(weight);
        return Result(uts_cross_entropy(logits.Handle, target.Handle, w.Value, (int)reduction, ignoreIndex, labelSmoothing, out var r), r);
    }

    /// <summary>Negative log-likelihood of log-probabilities (N×C×...) against class indices.</summary>
    public static Tensor NllLoss(Tensor logProbabilities, Tensor target, Tensor? weight = null, Reduction reduction = Reduction.Mean, long ignoreIndex = -100)
    {
        using var w = new HandleLease(weight);
        return Result(uts_nll_loss(logProbabilities.Handle, target.Handle, w.Value, (int)reduction, ignoreIndex, out var r), r);
    }

    private static unsafe void Pairs(long* destination, Size2 a, Size2 b, Size2 c)
    {
        destination[0] = a.Height; destination[1] = a.Width;
        destination[2] = b.Height; destination[3] = b.Width;
        destination[4] = c.Height; destination[5] = c.Width;
    }
}
