using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;
using UNet.Segmentation.Runtime;

namespace UNet.Segmentation.Data;

/// <summary>
/// The reference's training augmentation on whole batches as tensor ops (so it runs where the
/// batch lives): horizontal and vertical flips, crop-and-resize (each box edge moved in by
/// CropFraction·U, resized back with bilinear sampling at y·(H−1)), then brightness (a uniform
/// shift, clipped to [−1, 1]); optional rotation and elastic deformation. Flips, crop, rotation
/// and the elastic field become one sampling grid, applied to images and labels in one
/// grid_sample. Random numbers come from the caller's <see cref="Random"/>, so a batch is a
/// function of its seed, whatever thread prepares it.
/// </summary>
public static class Augmentation
{
    // Held Scalars, not implicit ones per call: a temporary Scalar can be finalized while libtorch reads it (Losses.Two).
    private static readonly Scalar MinusOne = (-1.0).ToScalar(), PlusOne = 1.0.ToScalar();

    /// <summary>
    /// Augments N×(C+L)×S×S image/label pairs: the first <paramref name="imageChannels"/> channels
    /// the image in [−1, 1] (brightness shifts them alike), then the label channels (warped with
    /// the image; <see cref="Preprocessing.Finish"/> makes them hard again).
    /// </summary>
    public static Tensor Apply(Tensor pairs, DataOptions options, Random random, int imageChannels = 1)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(random);
        ArgumentOutOfRangeException.ThrowIfLessThan(imageChannels, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(imageChannels, pairs.shape[1]);
        using var scope = NewDisposeScope();
        int n = (int)pairs.shape[0];
        long size = pairs.shape[2];
        var theta = new float[n * 6];
        var brightness = new float[n];
        for (int i = 0; i < n; i++)
        {
            double fx = random.NextDouble() > 1 - options.FlipProbability ? -1 : 1;
            double fy = random.NextDouble() > 1 - options.FlipProbability ? -1 : 1;
            double x1 = options.CropFraction * random.NextDouble(), x2 = 1 - options.CropFraction * random.NextDouble();
            double y1 = options.CropFraction * random.NextDouble(), y2 = 1 - options.CropFraction * random.NextDouble();
            double angle = options.RotationDegrees > 0 ? (2 * random.NextDouble() - 1) * options.RotationDegrees * Math.PI / 180 : 0;
            brightness[i] = (float)((2 * random.NextDouble() - 1) * options.BrightnessDelta);
            // Output point b (normalised, align_corners) -> crop box (scale a, shift c) -> flip:
            // n = F·(A·R·b + c), with a = y2 − y1 and c = y1 + y2 − 1 per axis.
            double ax = x2 - x1, ay = y2 - y1, cx = x1 + x2 - 1, cy = y1 + y2 - 1;
            double cos = Math.Cos(angle), sin = Math.Sin(angle);
            theta[6 * i + 0] = (float)(fx * ax * cos);
            theta[6 * i + 1] = (float)(fx * ax * -sin);
            theta[6 * i + 2] = (float)(fx * cx);
            theta[6 * i + 3] = (float)(fy * ay * sin);
            theta[6 * i + 4] = (float)(fy * ay * cos);
            theta[6 * i + 5] = (float)(fy * cy);
        }
        var device = pairs.device;
        var grid = F.affine_grid(tensor(theta, [n, 2, 3], device: device), [n, pairs.shape[1], size, size], align_corners: true);
        if (options.ElasticSigma > 0) grid = grid.Plus(ElasticField(n, size, options, random, device));   // held alpha (Runtime/HeldScalars.cs)
        var warped = F.grid_sample(pairs, grid, GridSampleMode.Bilinear, GridSamplePaddingMode.Zeros, align_corners: true);
        // Brightness on the image channels only.
        long labels = pairs.shape[1] - imageChannels;
        var shift = cat([tensor(brightness, [n, 1, 1, 1], device: device).expand(n, imageChannels, 1, 1), zeros([n, labels, 1, 1], ScalarType.Float32, device: device)], 1);
        var shifted = warped.Plus(shift);
        var image = shifted.narrow(1, 0, imageChannels).clamp(MinusOne, PlusOne);
        return cat([image, shifted.narrow(1, imageChannels, labels)], 1).MoveToOuterDisposeScope();
    }

    /// <summary>Random displacements (σ pixels) on a coarse grid, interpolated to every pixel, in normalised units: N×S×S×2.</summary>
    private static Tensor ElasticField(int n, long size, DataOptions options, Random random, Device device)
    {
        int g = options.ElasticGrid;
        var d = new float[n * 2 * g * g];
        double scale = options.ElasticSigma * 2.0 / (size - 1);
        for (int i = 0; i < d.Length; i++)
        {
            // Box–Muller: a standard normal from two uniforms.
            double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
            d[i] = (float)(scale * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }
        using var coarse = tensor(d, [n, 2, g, g], device: device);
        using var fine = F.interpolate(coarse, [size, size], mode: InterpolationMode.Bilinear, align_corners: true);
        return fine.permute(0, 2, 3, 1);
    }
}
