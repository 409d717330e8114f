using System.Numerics;

namespace UNet.Segmentation.Data.Msd;

/// <summary>
/// Separable resampling of C-order volumes along one axis at a time, on the grid convention of
/// <see cref="MsdPreprocessing.ResampleImage"/>: output voxel j of m along an axis of n voxels
/// samples the input at s = (j + ½)·n/m − ½, clamped to [0, n − 1] (half-voxel centres, edge
/// values beyond the border: SciPy's <c>zoom(grid_mode=True, mode="nearest")</c>, scikit-image's
/// <c>resize(mode="edge", anti_aliasing=False)</c>, PyTorch's <c>align_corners=False</c>).
/// </summary>
internal static class VolumeResampling
{
    /// <summary>Linear interpolation along the middle axis of <paramref name="source"/> viewed as [outer, n, inner], giving [outer, m, inner]; arithmetic in double.</summary>
    public static T[] Linear<T>(T[] source, int outer, int n, int inner, int m)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (n == m) return source;
        var low = new int[m];
        var high = new int[m];
        var weight = new double[m];
        for (int j = 0; j < m; j++)
        {
            double s = (j + 0.5) * n / m - 0.5;
            s = Math.Clamp(s, 0, n - 1);
            int i0 = (int)Math.Floor(s);
            low[j] = i0;
            high[j] = Math.Min(i0 + 1, n - 1);
            weight[j] = s - i0;
        }
        var result = new T[checked((long)outer * m * inner)];
        Parallel.For(0, outer, o =>
        {
            for (int j = 0; j < m; j++)
            {
                int a = (o * n + low[j]) * inner, b = (o * n + high[j]) * inner, d = (o * m + j) * inner;
                double t = weight[j], u = 1 - t;
                for (int k = 0; k < inner; k++)
                    result[d + k] = T.CreateTruncating(u * double.CreateTruncating(source[a + k]) + t * double.CreateTruncating(source[b + k]));
            }
        });
        return result;
    }

    /// <summary>The input index nearest output voxel j of m along an axis of n: ⌊(j + ½)·n/m⌋, at most n − 1 (the input voxel whose extent holds the output voxel's centre).</summary>
    public static int NearestIndex(int j, int n, int m) => Math.Min((int)Math.Floor((j + 0.5) * n / m), n - 1);

    /// <summary>Nearest-neighbour selection along the middle axis of [outer, n, inner] (<see cref="NearestIndex"/>), giving [outer, m, inner].</summary>
    public static T[] Nearest<T>(T[] source, int outer, int n, int inner, int m)
        where T : unmanaged
    {
        if (n == m) return source;
        var result = new T[checked((long)outer * m * inner)];
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < m; j++)
                Array.Copy(source, (o * n + NearestIndex(j, n, m)) * inner, result, (o * m + j) * inner, inner);
        return result;
    }

    /// <summary>
    /// Resamples a C×D×H×W array to <paramref name="target"/>: linear along every axis but
    /// <paramref name="nearestAxis"/> (0 z, 1 y, 2 x; null: none), nearest along it.
    /// </summary>
    public static T[] Resample<T>(T[] data, int channels, Shape3D shape, Shape3D target, int? nearestAxis)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int[] sizes = shape.ToArray();
        int[] goal = target.ToArray();
        for (int axis = 0; axis < 3; axis++)
        {
            int outer = channels, inner = 1;
            for (int a = 0; a < axis; a++) outer *= sizes[a];
            for (int a = axis + 1; a < 3; a++) inner *= sizes[a];
            data = axis == nearestAxis
                ? Nearest(data, outer, sizes[axis], inner, goal[axis])
                : Linear(data, outer, sizes[axis], inner, goal[axis]);
            sizes[axis] = goal[axis];
        }
        return data;
    }
}
