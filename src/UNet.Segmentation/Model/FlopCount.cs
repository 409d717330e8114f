namespace UNet.Segmentation.Model;

/// <summary>
/// Floating-point operations of the U-Net per image, counted from its architecture: every
/// convolution and transposed convolution as 2 × multiply-adds (ReLU, pooling, batch norm,
/// concatenation and the loss are left out: together well under 1 % at the reference's sizes).
/// The basis of the compute floor in docs/performance.md.
/// </summary>
public static partial class FlopCount
{
    /// <summary>FLOPs of one forward pass of one <paramref name="inputSize"/>² image.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The size is not valid for the options.</exception>
    public static double Forward(UNetOptions options, int inputSize) => Count(options, inputSize).Total;

    /// <summary>
    /// FLOPs of one training step per image: the forward pass, and in the backward pass the
    /// gradients with respect to each layer's input and weights (2 × forward), except the first
    /// convolution's input gradient, which nothing needs.
    /// </summary>
    public static double TrainingStep(UNetOptions options, int inputSize)
    {
        var (total, first) = Count(options, inputSize);
        return 3 * total - first;
    }

    private static (double Total, double FirstConv) Count(UNetOptions options, int inputSize)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.EnsureValid();
        options.OutputSize(inputSize); // throws, naming the valid sizes, for an invalid size
        int shrink = options.Padding == ConvPadding.Valid ? 2 : 0;
        int upKernel = options.Upsampling == Upsampling.TransposedConv3x3 ? 3 : 2;
        long f = options.BaseFilters;
        double total = 0, first = 0;
        long s = inputSize;

        // A pair of 3×3 convolutions cin → c → c; returns the size after them.
        long Pair(long size, long cin, long c)
        {
            size -= shrink;
            double conv1 = 2.0 * size * size * c * cin * 9;
            if (first == 0) first = conv1;
            size -= shrink;
            total += conv1 + 2.0 * size * size * c * c * 9;
            return size;
        }

        // Stride-2 transposed convolution cin → cin/2: every input pixel scatters a k×k kernel.
        long Up(long size, long cin)
        {
            total += 2.0 * size * size * cin * (cin / 2) * upKernel * upKernel;
            return 2 * size;
        }

        long cinLevel = options.InputChannels;
        for (int level = 0; level < options.Depth; level++)
        {
            s = Pair(s, cinLevel, f << level) / 2;
            cinLevel = f << level;
        }
        s = Up(Pair(s, cinLevel, f << options.Depth), f << options.Depth);
        for (int level = options.Depth - 1; level >= 1; level--)
            s = Up(Pair(s, 2 * (f << level), f << level), f << level);
        s = Pair(s, 2 * f, f);
        total += 2.0 * s * s * options.Classes * f; // the 1×1 output convolution
        return (total, first);
    }
}
