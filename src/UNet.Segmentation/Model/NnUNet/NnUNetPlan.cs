namespace UNet.Segmentation.Model.NnUNet;

/// <summary>
/// Derives an nnU-Net's kernels and strides per level from the training patch and the voxel
/// spacing, by the rule of NVIDIA's DeepLearningExamples nnUNet (<c>get_unet_params</c>, the same
/// in its TensorFlow 2 and PyTorch versions); the filters then follow from the level count
/// (<see cref="NnUNetOptions.Filters"/>: 32 doubling to 320 in 3D, 512 in 2D).
/// </summary>
/// <remarks>
/// The rule, one step per level below the input block: with the current spacing (the patch's,
/// multiplied by the strides taken so far) and ratio = spacing / its smallest value, a dimension
/// is halved (stride 2) when its ratio is at most 2 and its current size is at least
/// 2 × <c>minFeatureMap</c> (the reference's <c>--min_fmap</c>, default 4, so 8), else kept
/// (stride 1); its kernel is 3 when the ratio is at most 2, else 1 (an axis that is still much
/// coarser than the others is not convolved across). The steps stop when no dimension is halved
/// or after <c>maxDepth</c> steps (the reference's <c>--depth</c>, default 5). Level 0 (the
/// input block) gets stride 1 and the first step's kernels; level i + 1 the kernel computed at
/// step i + 1 and the stride of step i; the bottleneck gets kernel 3 everywhere. Sizes are
/// divided as real numbers, as the reference does: a patch whose sizes are not multiples of the
/// resulting total stride is refused here, where the reference would fail later.
/// For BraTS (128³ at 1 mm): strides 1, 2, 2, 2, 2, 2 (128 → 4) and kernels 3 at every level.
/// </remarks>
public static class NnUNetPlan
{
    /// <summary>The reference's default number of down-sampling steps (<c>--depth 5</c>).</summary>
    public const int DefaultMaxDepth = 5;

    /// <summary>The reference's default smallest feature map in the bottleneck (<c>--min_fmap 4</c>).</summary>
    public const int DefaultMinFeatureMap = 4;

    /// <summary>
    /// The options of the plan for <paramref name="patchSize"/> (2 or 3 sizes: the spatial
    /// dimensions) at <paramref name="spacing"/> (mm per voxel, same order), with the reference's
    /// filters (<see cref="NnUNetOptions.BaseFilters"/> 32, its cap by dimension) and deep
    /// supervision with 2 heads when the plan has enough levels for them (1 with 3 levels);
    /// change any of it with <c>with</c>.
    /// </summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException">The patch has other than 2 or 3 sizes, the spacing another count or a value that is not positive and finite, the patch is too small for two down-sampling steps, or its sizes are not multiples of the total stride (the message names the argument).</exception>
    /// <exception cref="ArgumentOutOfRangeException">A size, the channels, classes, depth or minimal feature map is below 1 (or the depth below 2).</exception>
    public static NnUNetOptions For(
        IReadOnlyList<int> patchSize, IReadOnlyList<double> spacing, int inputChannels, int classes,
        int maxDepth = DefaultMaxDepth, int minFeatureMap = DefaultMinFeatureMap)
    {
        ArgumentNullException.ThrowIfNull(patchSize);
        ArgumentNullException.ThrowIfNull(spacing);
        if (patchSize.Count is not (2 or 3))
            throw new ArgumentException($"the patch must have 2 or 3 spatial sizes (got {patchSize.Count})", nameof(patchSize));
        if (patchSize.Any(s => s < 1))
            throw new ArgumentOutOfRangeException(nameof(patchSize), NnUNetOptions.Show(patchSize), "every patch size must be at least 1");
        if (spacing.Count != patchSize.Count)
            throw new ArgumentException($"the spacing has {spacing.Count} values for a patch of {patchSize.Count} dimensions", nameof(spacing));
        if (spacing.Any(v => !(v > 0) || double.IsInfinity(v)))
            throw new ArgumentException($"every spacing must be positive and finite (got {string.Join("×", spacing)})", nameof(spacing));
        ArgumentOutOfRangeException.ThrowIfLessThan(inputChannels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxDepth, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(minFeatureMap, 1);

        int dims = patchSize.Count;
        var sizes = patchSize.Select(s => (double)s).ToArray();
        var spacings = spacing.ToArray();
        var kernels = new List<IReadOnlyList<int>>();
        var strides = new List<IReadOnlyList<int>> { Enumerable.Repeat(1, dims).ToArray() };
        while (strides.Count - 1 < maxDepth)
        {
            double finest = spacings.Min();
            var ratio = spacings.Select(s => s / finest).ToArray();
            var stride = Enumerable.Range(0, dims).Select(d => ratio[d] <= 2 && sizes[d] >= 2 * minFeatureMap ? 2 : 1).ToArray();
            if (stride.All(s => s == 1)) break;
            kernels.Add(ratio.Select(r => r <= 2 ? 3 : 1).ToArray());
            strides.Add(stride);
            for (int d = 0; d < dims; d++)
            {
                sizes[d] /= stride[d];
                spacings[d] *= stride[d];
            }
        }
        kernels.Add(Enumerable.Repeat(3, dims).ToArray());
        if (strides.Count < 3)
            throw new ArgumentException(
                $"the patch {NnUNetOptions.Show(patchSize)} at spacing {string.Join("×", spacing)} allows {strides.Count - 1} down-sampling step(s); the U-Net needs at least 2 (a dimension of at least {4 * minFeatureMap} whose spacing is within 2× of the finest)",
                nameof(patchSize));
        var options = new NnUNetOptions
        {
            SpatialDims = dims,
            InputChannels = inputChannels,
            Classes = classes,
            Kernels = kernels,
            Strides = strides,
            DeepSupervisionHeads = Math.Min(2, strides.Count - 2),
            PatchSize = patchSize.ToArray(),
            Spacing = spacing.ToArray(),
        };
        var total = options.TotalStride;
        if (patchSize.Where((size, d) => size % total[d] != 0).Any())
            throw new ArgumentException(
                $"the patch {NnUNetOptions.Show(patchSize)} is not divisible by the plan's total stride {NnUNetOptions.Show(total)}: choose sizes that are multiples of it",
                nameof(patchSize));
        return options.EnsureValid();
    }
}
