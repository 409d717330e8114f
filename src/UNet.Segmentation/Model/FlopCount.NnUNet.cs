using UNet.Segmentation.Model.NnUNet;

namespace UNet.Segmentation.Model;

public static partial class FlopCount
{
    /// <summary>
    /// FLOPs of one forward pass (<see cref="NnUNetModel.forward"/>: no heads) of one input of
    /// <paramref name="inputSize"/> (the options' patch when null), counted as for the U-Net: every
    /// convolution and transposed convolution as 2 × multiply-adds; instance norm, leaky ReLU,
    /// concatenation and biases left out.
    /// </summary>
    /// <exception cref="ArgumentException">No size was given and the options have no patch, or the sizes do not fit the options (multiples of the total stride).</exception>
    public static double Forward(NnUNetOptions options, IReadOnlyList<int>? inputSize = null) => Count(options, inputSize, heads: false).Total;

    /// <summary>
    /// FLOPs of one training step per input: <see cref="NnUNetModel.ForwardWithDeepSupervision"/>
    /// (the heads included when the options have them), and in the backward pass the gradients
    /// with respect to each layer's input and weights (2 × forward), except the first
    /// convolution's input gradient.
    /// </summary>
    public static double TrainingStep(NnUNetOptions options, IReadOnlyList<int>? inputSize = null)
    {
        var (total, first) = Count(options, inputSize, heads: true);
        return 3 * total - first;
    }

    private static (double Total, double FirstConv) Count(NnUNetOptions options, IReadOnlyList<int>? inputSize, bool heads)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.EnsureValid();
        var size = inputSize ?? options.PatchSize
            ?? throw new ArgumentException("the options have no patch size: pass the input size", nameof(inputSize));
        var total = options.TotalStride;
        if (size.Count != options.SpatialDims || size.Where((s, d) => s < 1 || s % total[d] != 0).Any())
            throw new ArgumentException($"input size {NnUNetOptions.Show(size)} must be {options.SpatialDims} multiples of the total stride {NnUNetOptions.Show(total)}", nameof(inputSize));

        int levels = options.Levels;
        var f = options.Filters;
        // Voxels per level (each level's first conv divides the sizes by its stride) and kernel volumes.
        var voxels = new double[levels];
        var sizes = size.Select(s => (double)s).ToArray();
        for (int i = 0; i < levels; i++)
        {
            for (int d = 0; d < sizes.Length; d++) sizes[d] /= options.Strides[i][d];
            voxels[i] = sizes.Aggregate(1.0, (p, s) => p * s);
        }
        double Kernel(int level) => options.Kernels[level].Aggregate(1.0, (p, k) => p * k);
        double Conv(double outVoxels, long cin, long cout, double kernel) => 2.0 * outVoxels * cin * cout * kernel;

        double first = Conv(voxels[0], options.InputChannels, f[0], Kernel(0));
        double sum = first + Conv(voxels[0], f[0], f[0], Kernel(0));
        for (int i = 1; i < levels; i++) // strided blocks and bottleneck
            sum += Conv(voxels[i], f[i - 1], f[i], Kernel(i)) + Conv(voxels[i], f[i], f[i], Kernel(i));
        for (int l = levels - 2; l >= 0; l--) // decoder: back to level l
        {
            double up = options.Strides[l + 1].Aggregate(1.0, (p, s) => p * s);
            sum += 2.0 * voxels[l + 1] * f[l + 1] * f[l] * up; // each input voxel scatters a stride-sized kernel
            sum += Conv(voxels[l], 2L * f[l], f[l], Kernel(l + 1)) + Conv(voxels[l], f[l], f[l], Kernel(l + 1));
        }
        sum += Conv(voxels[0], f[0], options.Classes, 1);
        if (heads && options.DeepSupervision)
            for (int h = 1; h <= options.DeepSupervisionHeads; h++)
                sum += Conv(voxels[h], f[h], options.Classes, 1);
        return (sum, first);
    }
}
