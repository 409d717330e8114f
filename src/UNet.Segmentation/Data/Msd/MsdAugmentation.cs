using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;
using UNet.Segmentation.Runtime;

namespace UNet.Segmentation.Data.Msd;

/// <summary>
/// The reference's 3-D augmentations (<see cref="MsdAugmentationOptions"/>) on one patch as
/// TorchSharp tensors: the image C×D×H×W (float32), the labels 1×D×H×W (any integer type). They
/// run on the tensors' device, as the reference's DALI pipeline runs on the GPU, with libtorch's
/// trilinear interpolation and grouped 3-D convolutions; the random numbers come from the
/// caller's <see cref="Random"/> (<see cref="Draw"/>), so a patch's augmentation is a function
/// of its seed on any device. Every function returns new tensors and disposes its temporaries.
/// </summary>
public static class MsdAugmentation
{
    /// <summary>Draws one patch's augmentation: for each transform a coin and a value, always both, in the order of <see cref="MsdAugmentationOptions"/>.</summary>
    public static MsdAugmentationDraw Draw(MsdAugmentationOptions options, Random random)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(random);
        double? Maybe(double p, (double Min, double Max) range)
        {
            bool happens = random.NextDouble() < p;
            double value = range.Min + (range.Max - range.Min) * random.NextDouble();
            return happens ? value : null;
        }
        var zoom = Maybe(options.ZoomProbability, options.ZoomScale);
        bool fz = random.NextDouble() < options.FlipProbability, fy = random.NextDouble() < options.FlipProbability, fx = random.NextDouble() < options.FlipProbability;
        var noise = Maybe(options.NoiseProbability, options.NoiseStd);
        long noiseSeed = random.NextInt64(0, long.MaxValue);
        var blur = Maybe(options.BlurProbability, options.BlurSigma);
        var brightness = Maybe(options.BrightnessProbability, options.Brightness);
        var contrast = Maybe(options.ContrastProbability, options.Contrast);
        return new MsdAugmentationDraw(zoom, fz, fy, fx, noise, noiseSeed, blur, brightness, contrast);
    }

    /// <summary>Draws (<see cref="Draw"/>) and applies an augmentation.</summary>
    public static (Tensor Image, Tensor Labels) Apply(Tensor image, Tensor labels, MsdAugmentationOptions options, Random random)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return Apply(image, labels, Draw(options, random));
    }

    /// <summary>Applies <paramref name="draw"/>: zoom, mirroring, noise, blur, brightness, contrast, in the reference's order.</summary>
    public static (Tensor Image, Tensor Labels) Apply(Tensor image, Tensor labels, MsdAugmentationDraw draw)
    {
        CheckPair(image, labels);
        ArgumentNullException.ThrowIfNull(draw);
        using var scope = NewDisposeScope();
        Tensor x = image, y = labels;
        if (draw.Zoom is { } scale) (x, y) = Zoom(x, y, scale);
        if (draw.FlipZ || draw.FlipY || draw.FlipX) (x, y) = Mirror(x, y, draw.FlipZ, draw.FlipY, draw.FlipX);
        if (draw.NoiseStd is { } std) x = Noise(x, std, draw.NoiseSeed);
        if (draw.BlurSigma is { } sigma) x = Blur(x, sigma);
        if (draw.Brightness is { } factor) x = Brightness(x, factor);
        if (draw.Contrast is { } contrast) x = Contrast(x, contrast);
        // New tensors out, even when nothing happened: the caller owns and disposes them alike.
        x = ReferenceEquals(x, image) ? x.clone() : x;
        y = ReferenceEquals(y, labels) ? y.clone() : y;
        return (x.MoveToOuterDisposeScope(), y.MoveToOuterDisposeScope());
    }

    /// <summary>Mirrors image and labels along the chosen axes (z, y, x). Mirroring twice gives the input back.</summary>
    public static (Tensor Image, Tensor Labels) Mirror(Tensor image, Tensor labels, bool z, bool y, bool x)
    {
        CheckPair(image, labels);
        long[] dims = [.. (z ? new long[] { 1 } : []), .. (y ? new long[] { 2 } : []), .. (x ? new long[] { 3 } : [])];
        if (dims.Length == 0) return (image.clone(), labels.clone());
        return (image.flip(dims), labels.flip(dims));
    }

    /// <summary>
    /// The reference's zoom: the centred box of round(scale · size) voxels along each axis
    /// (start ⌊(size − box)/2⌋) resized back to the patch's size, the image trilinearly
    /// (align_corners false; the reference interpolates cubically) and the labels by nearest
    /// neighbour (input ⌊(j + ½)·box/size⌋, so no class is invented).
    /// </summary>
    /// <param name="image">C×D×H×W.</param>
    /// <param name="labels">1×D×H×W.</param>
    /// <param name="scale">In (0, 1]; 1 returns copies.</param>
    public static (Tensor Image, Tensor Labels) Zoom(Tensor image, Tensor labels, double scale)
    {
        CheckPair(image, labels);
        if (!(scale is > 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(scale), scale, "the zoom crops the centre: the scale lies in (0, 1]");
        using var scope = NewDisposeScope();
        long[] size = [image.shape[1], image.shape[2], image.shape[3]];
        Tensor x = image, y = labels;
        for (int a = 0; a < 3; a++)
        {
            long box = Math.Max(1, (long)Math.Round(scale * size[a], MidpointRounding.AwayFromZero));
            long start = (size[a] - box) / 2;
            x = x.narrow(a + 1, start, box);
            y = y.narrow(a + 1, start, box);
            var index = new long[size[a]];
            for (int j = 0; j < size[a]; j++) index[j] = Math.Min((long)Math.Floor((j + 0.5) * box / size[a]), box - 1);
            using var taps = tensor(index, device: labels.device);
            y = y.index_select(a + 1, taps);
        }
        var resized = F.interpolate(x.unsqueeze(0), size, mode: InterpolationMode.Trilinear, align_corners: false).squeeze(0);
        return (resized.MoveToOuterDisposeScope(), y.contiguous().MoveToOuterDisposeScope());
    }

    /// <summary>Adds Gaussian noise of standard deviation <paramref name="std"/>, drawn on the CPU by a generator seeded with <paramref name="seed"/> (the same noise on every device).</summary>
    public static Tensor Noise(Tensor image, double std, long seed)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentOutOfRangeException.ThrowIfNegative(std);
        using var scope = NewDisposeScope();
        using var generator = new Generator((ulong)seed, CPU);
        var noise = randn(image.shape, ScalarType.Float32, CPU, generator: generator).to(image.device).to_type(image.dtype);
        using Scalar held = std.ToScalar();   // held until the call returns (see Training/Losses.cs, Two)
        return image.Plus(noise.mul(held)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Blurs every channel with a 3-D Gaussian of σ voxels: separable, a normalised kernel of
    /// 2⌈3σ⌉ + 1 taps per axis, the border mirrored without repeating the edge voxel (reflect;
    /// replicated where the patch is thinner than the kernel's radius).
    /// </summary>
    public static Tensor Blur(Tensor image, double sigma)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.dim() != 4) throw new ArgumentException($"the image must be C×D×H×W, not of {image.dim()} dimensions", nameof(image));
        if (!(sigma > 0)) throw new ArgumentOutOfRangeException(nameof(sigma), sigma, "σ must be above 0");
        using var scope = NewDisposeScope();
        int radius = (int)Math.Ceiling(3 * sigma);
        var weights = new float[2 * radius + 1];
        double total = 0;
        for (int i = -radius; i <= radius; i++) total += weights[i + radius] = (float)Math.Exp(-0.5 * i * i / (sigma * sigma));
        for (int i = 0; i < weights.Length; i++) weights[i] = (float)(weights[i] / total);
        long channels = image.shape[0];
        var x = image.unsqueeze(0);
        for (int a = 0; a < 3; a++)
        {
            long[] kernelShape = [channels, 1, 1, 1, 1];
            kernelShape[2 + a] = weights.Length;
            var kernel = tensor(weights, device: image.device).to_type(image.dtype).reshape(weights.Length).expand(channels, weights.Length).reshape(kernelShape);
            var pad = new long[6];
            // F.pad lists the last dimension first: (x before, x after, y…, z…).
            pad[2 * (2 - a)] = pad[2 * (2 - a) + 1] = radius;
            var mode = radius < image.shape[1 + a] ? PaddingModes.Reflect : PaddingModes.Replicate;
            x = F.conv3d(F.pad(x, pad, mode), kernel, groups: channels);
        }
        return x.squeeze(0).MoveToOuterDisposeScope();
    }

    /// <summary>Multiplies every voxel by <paramref name="factor"/>.</summary>
    public static Tensor Brightness(Tensor image, double factor)
    {
        ArgumentNullException.ThrowIfNull(image);
        using Scalar held = factor.ToScalar();   // held until the call returns (see Training/Losses.cs, Two)
        return image.mul(held);
    }

    /// <summary>Multiplies every voxel by <paramref name="factor"/> and clamps to the patch's former minimum and maximum (over all channels), as the reference does.</summary>
    public static Tensor Contrast(Tensor image, double factor)
    {
        ArgumentNullException.ThrowIfNull(image);
        using var scope = NewDisposeScope();
        var min = image.min();
        var max = image.max();
        using Scalar held = factor.ToScalar();   // held until the call returns (see Training/Losses.cs, Two)
        return image.mul(held).clamp(min, max).MoveToOuterDisposeScope();
    }

    private static void CheckPair(Tensor image, Tensor labels)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(labels);
        if (image.dim() != 4) throw new ArgumentException($"the image must be C×D×H×W, not of shape [{string.Join(", ", image.shape)}]", nameof(image));
        if (labels.dim() != 4 || labels.shape[0] != 1 || !labels.shape.AsSpan(1).SequenceEqual(image.shape.AsSpan(1)))
            throw new ArgumentException($"the labels must be 1×D×H×W of the image's D×H×W, not [{string.Join(", ", labels.shape)}] for an image [{string.Join(", ", image.shape)}]", nameof(labels));
    }
}
