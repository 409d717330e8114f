namespace UNet.Segmentation.Data.Msd;

/// <summary>
/// The reference's preprocessing steps (NVIDIA nnU-Net, <c>data_preprocessing/preprocessor.py</c>),
/// each a function of a volume and its spacing, in the order <see cref="MsdPreprocessor"/> runs
/// them: <see cref="PositiveBox"/> and <see cref="Crop{T}"/>, <see cref="ResampledShape"/>,
/// <see cref="ResampleImage"/> and <see cref="ResampleLabels"/>, <see cref="ClipAndNormalizeCt"/>
/// or <see cref="NormalizeNonZero"/>, <see cref="PadTo{T}"/>. Axes are (z, y, x), spacings in mm.
/// </summary>
public static class MsdPreprocessing
{
    /// <summary>The spacing ratio (largest / smallest) from which the reference calls a spacing anisotropic: 3.</summary>
    public const double AnisotropyRatio = 3;

    /// <summary>
    /// The bounding box of the voxels above 0 in any channel: MONAI's
    /// <c>generate_spatial_bounding_box</c> with its default <c>select_fn</c> (<c>img &gt; 0</c>),
    /// which the reference crops every image and label map to. For MRI, whose intensities are
    /// not negative, that is the box of the non-zero voxels.
    /// </summary>
    /// <exception cref="ArgumentException">No voxel is above 0.</exception>
    public static Box3D PositiveBox(Volume<float> image)
    {
        ArgumentNullException.ThrowIfNull(image);
        var s = image.Shape;
        int z0 = int.MaxValue, y0 = int.MaxValue, x0 = int.MaxValue, z1 = -1, y1 = -1, x1 = -1;
        for (int c = 0; c < image.Channels; c++)
        {
            var data = image.Channel(c);
            int i = 0;
            for (int z = 0; z < s.Depth; z++)
                for (int y = 0; y < s.Height; y++)
                    for (int x = 0; x < s.Width; x++, i++)
                    {
                        if (!(data[i] > 0)) continue;
                        if (z < z0) z0 = z;
                        if (z > z1) z1 = z;
                        if (y < y0) y0 = y;
                        if (y > y1) y1 = y;
                        if (x < x0) x0 = x;
                        if (x > x1) x1 = x;
                    }
        }
        if (z1 < 0) throw new ArgumentException("the image has no voxel above 0 to crop to", nameof(image));
        return new Box3D(z0, y0, x0, z1 + 1, y1 + 1, x1 + 1);
    }

    /// <summary>The part of <paramref name="volume"/> inside <paramref name="box"/>, every channel.</summary>
    /// <exception cref="ArgumentException">The box is empty or reaches outside the volume.</exception>
    public static Volume<T> Crop<T>(Volume<T> volume, Box3D box)
        where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(volume);
        var s = volume.Shape;
        for (int a = 0; a < 3; a++)
            if (box.Start(a) < 0 || box.End(a) > s[a] || box.Start(a) >= box.End(a))
                throw new ArgumentException($"the box {box} is empty or reaches outside the volume of {s}", nameof(box));
        var o = box.Shape;
        var result = Volume<T>.Zeros(volume.Channels, o);
        for (int c = 0; c < volume.Channels; c++)
            for (int z = 0; z < o.Depth; z++)
                for (int y = 0; y < o.Height; y++)
                    Array.Copy(volume.Data, ((c * s.Depth + box.StartZ + z) * s.Height + box.StartY + y) * s.Width + box.StartX,
                        result.Data, ((c * o.Depth + z) * o.Height + y) * o.Width, o.Width);
        return result;
    }

    /// <summary>
    /// The target spacing the reference computes from the training cases' spacings: the median per
    /// axis (NumPy's <c>median</c>); when the median's largest / smallest ratio is at least
    /// <see cref="AnisotropyRatio"/>, the axis of the <em>smallest</em> median spacing is set to the
    /// 10th percentile of that axis's spacings. (That is what the reference's code does,
    /// <c>np.argmin</c>; the original nnU-Net lowers the coarse axis instead. Kept for parity.)
    /// </summary>
    /// <param name="spacings">Each training case's spacing (z, y, x).</param>
    public static double[] TargetSpacing(IReadOnlyList<IReadOnlyList<double>> spacings)
    {
        ArgumentNullException.ThrowIfNull(spacings);
        if (spacings.Count == 0) throw new ArgumentException("no spacings", nameof(spacings));
        if (spacings.Any(s => s is null || s.Count != 3)) throw new ArgumentException("every spacing has 3 values (z, y, x)", nameof(spacings));
        var target = new double[3];
        for (int a = 0; a < 3; a++)
        {
            var sorted = spacings.Select(s => s[a]).Order().ToArray();
            int n = sorted.Length;
            target[a] = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
        }
        if (IsAnisotropic(target))
        {
            int axis = Array.IndexOf(target, target.Min());
            target[axis] = CtStatistics.Percentile(spacings.Select(s => s[axis]).Order().ToArray(), 10);
        }
        return target;
    }

    /// <summary>True when the largest spacing is at least <see cref="AnisotropyRatio"/> times the smallest.</summary>
    public static bool IsAnisotropic(IReadOnlyList<double> spacing)
    {
        ArgumentNullException.ThrowIfNull(spacing);
        return spacing.Max() / spacing.Min() >= AnisotropyRatio;
    }

    /// <summary>
    /// The axis resampled by nearest neighbour instead of linearly, as the reference does for
    /// anisotropic data: null unless the case's spacing or the target is anisotropic
    /// (<see cref="IsAnisotropic"/>); then the axis of the largest spacing of the anisotropic one
    /// (the case's first). The reference always takes axis 0 (z), which is the coarse axis of
    /// every anisotropic MSD task.
    /// </summary>
    public static int? CoarseAxis(IReadOnlyList<double> spacing, IReadOnlyList<double> target)
    {
        ArgumentNullException.ThrowIfNull(spacing);
        ArgumentNullException.ThrowIfNull(target);
        var s = IsAnisotropic(spacing) ? spacing : IsAnisotropic(target) ? target : null;
        if (s is null) return null;
        double max = s.Max();
        for (int a = 0; a < 3; a++)
            if (s[a] == max) return a;
        return null;
    }

    /// <summary>
    /// The shape after resampling <paramref name="shape"/> from <paramref name="spacing"/> to
    /// <paramref name="target"/>: <c>int(spacing / target · size)</c> per axis (truncated, as the
    /// reference's <c>astype(int)</c>), at least 1.
    /// </summary>
    public static Shape3D ResampledShape(Shape3D shape, IReadOnlyList<double> spacing, IReadOnlyList<double> target)
    {
        CheckSpacing(spacing, nameof(spacing));
        CheckSpacing(target, nameof(target));
        var sizes = new int[3];
        for (int a = 0; a < 3; a++) sizes[a] = Math.Max(1, (int)(spacing[a] / target[a] * shape[a]));
        return Shape3D.From(sizes);
    }

    /// <summary>
    /// Resamples every channel of <paramref name="image"/> to <paramref name="shape"/> with linear
    /// interpolation along each axis (trilinear; the reference interpolates cubically, order 3 —
    /// this library follows the issue's trilinear), except along <paramref name="coarseAxis"/>,
    /// which takes the nearest slice, as the reference does for anisotropic data.
    /// </summary>
    /// <remarks>
    /// Grid convention: output voxel j of m along an axis of n input voxels sits at input
    /// coordinate s = (j + ½)·n/m − ½ (voxel centres, the volume's extent kept), clamped to
    /// [0, n − 1], so values beyond the border repeat the edge; linear weights between ⌊s⌋ and
    /// ⌊s⌋ + 1. That is <c>scipy.ndimage.map_coordinates(order=1, mode="nearest")</c> at those
    /// coordinates, <c>scipy.ndimage.zoom(order=1, grid_mode=True, mode="nearest")</c> and the
    /// reference's <c>skimage.transform.resize(mode="edge", anti_aliasing=False)</c> at order 1.
    /// The nearest slice is ⌊(j + ½)·n/m⌋ (the input voxel whose extent holds the output voxel's
    /// centre). Arithmetic in double, stored as float.
    /// </remarks>
    public static Volume<float> ResampleImage(Volume<float> image, Shape3D shape, int? coarseAxis = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        CheckAxis(coarseAxis);
        var data = VolumeResampling.Resample(image.Data, image.Channels, image.Shape, shape, coarseAxis);
        return new Volume<float>(ReferenceEquals(data, image.Data) ? (float[])data.Clone() : data, image.Channels, shape);
    }

    /// <summary>
    /// Resamples a label map without inventing classes, as the reference does: for each class c
    /// from 1 to the largest present, in order, the binary mask of c is resampled as
    /// <see cref="ResampleImage"/> resamples an image (linear, nearest along
    /// <paramref name="coarseAxis"/>) and the voxels where it reaches 0.5 become c (a later class
    /// overwrites an earlier one); the rest stay 0. So every output value is a class of the input,
    /// and nested regions keep their nesting. Masks are resampled in double precision.
    /// </summary>
    public static Volume<byte> ResampleLabels(Volume<byte> labels, Shape3D shape, int? coarseAxis = null)
    {
        ArgumentNullException.ThrowIfNull(labels);
        if (labels.Channels != 1) throw new ArgumentException($"a label map has 1 channel, not {labels.Channels}", nameof(labels));
        CheckAxis(coarseAxis);
        var result = Volume<byte>.Zeros(1, shape);
        int max = labels.Data.Length == 0 ? 0 : labels.Data.Max();
        var mask = new double[labels.Data.Length];
        for (int c = 1; c <= max; c++)
        {
            for (int i = 0; i < mask.Length; i++) mask[i] = labels.Data[i] == c ? 1 : 0;
            var resampled = VolumeResampling.Resample(mask, 1, labels.Shape, shape, coarseAxis);
            for (int i = 0; i < resampled.Length; i++)
                if (resampled[i] >= 0.5) result.Data[i] = (byte)c;
        }
        return result;
    }

    /// <summary>
    /// The reference's normalisation of MRI and every modality but CT (MONAI's
    /// <c>NormalizeIntensity(nonzero=True, channel_wise=True)</c>): per channel, the voxels that
    /// are not 0 become (v − mean) / std with the mean and population standard deviation of those
    /// voxels (a std of 0 counts as 1); zero voxels stay 0. Statistics in double.
    /// </summary>
    public static Volume<float> NormalizeNonZero(Volume<float> image)
    {
        ArgumentNullException.ThrowIfNull(image);
        var result = new Volume<float>((float[])image.Data.Clone(), image.Channels, image.Shape);
        for (int c = 0; c < image.Channels; c++)
        {
            var data = result.Channel(c);
            double sum = 0;
            long n = 0;
            foreach (float v in data)
                if (v != 0)
                {
                    sum += v;
                    n++;
                }
            if (n == 0) continue;
            double mean = sum / n, squares = 0;
            foreach (float v in data)
                if (v != 0) squares += (v - mean) * (v - mean);
            double std = Math.Sqrt(squares / n);
            if (std == 0) std = 1;
            for (int i = 0; i < data.Length; i++)
                if (data[i] != 0) data[i] = (float)((data[i] - mean) / std);
        }
        return result;
    }

    /// <summary>
    /// The reference's CT normalisation: every voxel clipped to [<see cref="CtStatistics.Min"/>,
    /// <see cref="CtStatistics.Max"/>], then (v − mean) / std with the dataset's foreground mean and std.
    /// </summary>
    public static Volume<float> ClipAndNormalizeCt(Volume<float> image, CtStatistics statistics)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(statistics);
        var data = new float[image.Data.Length];
        for (int i = 0; i < data.Length; i++)
            data[i] = (float)((Math.Clamp(image.Data[i], statistics.Min, statistics.Max) - statistics.Mean) / statistics.Std);
        return new Volume<float>(data, image.Channels, image.Shape);
    }

    /// <summary>
    /// Pads <paramref name="volume"/> with zeros to at least <paramref name="minimum"/> along each
    /// axis, as the reference does with the patch size: an axis shorter by d gets ⌊d/2⌋ voxels
    /// before and ⌈d/2⌉ after; longer axes are left alone.
    /// </summary>
    /// <returns>The padded volume (the input itself when nothing is padded) and the voxels added before the data along z, y, x.</returns>
    public static (Volume<T> Volume, int[] Before) PadTo<T>(Volume<T> volume, Shape3D minimum)
        where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(volume);
        var s = volume.Shape;
        var padded = new Shape3D(Math.Max(s.Depth, minimum.Depth), Math.Max(s.Height, minimum.Height), Math.Max(s.Width, minimum.Width));
        int[] before = [(padded.Depth - s.Depth) / 2, (padded.Height - s.Height) / 2, (padded.Width - s.Width) / 2];
        if (padded == s) return (volume, before);
        var result = Volume<T>.Zeros(volume.Channels, padded);
        for (int c = 0; c < volume.Channels; c++)
            for (int z = 0; z < s.Depth; z++)
                for (int y = 0; y < s.Height; y++)
                    Array.Copy(volume.Data, ((c * s.Depth + z) * s.Height + y) * s.Width,
                        result.Data, ((c * padded.Depth + z + before[0]) * padded.Height + y + before[1]) * padded.Width + before[2], s.Width);
        return (result, before);
    }

    private static void CheckSpacing(IReadOnlyList<double> spacing, string name)
    {
        ArgumentNullException.ThrowIfNull(spacing, name);
        if (spacing.Count != 3 || spacing.Any(v => !double.IsFinite(v) || v <= 0))
            throw new ArgumentException($"a spacing is 3 finite positive values (z, y, x), not ({string.Join(", ", spacing)})", name);
    }

    private static void CheckAxis(int? axis)
    {
        if (axis is < 0 or > 2) throw new ArgumentOutOfRangeException(nameof(axis), axis, "axes are 0 (z), 1 (y) and 2 (x)");
    }
}
