using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace UNet.Segmentation.Data;

/// <summary>
/// The reference's preprocessing as tensor ops: images to [−1, 1] (x/127.5 − 1), labels to
/// {0 membrane, 1 interior}; reference mode resizes bilinearly (half-pixel centres, no
/// antialias) to the output size, thresholds the label at 0.5 and zero-pads both to the input
/// size; overlap-tile mode mirror-pads both by the margin instead.
/// </summary>
public static class Preprocessing
{
    /// <summary>N×1×H×W float32 in [−1, 1] from 8-bit slices.</summary>
    public static Tensor Images(ReadOnlySpan<byte> slices, int count, int height, int width)
    {
        using var scope = NewDisposeScope();
        var raw = tensor(slices.ToArray(), [count, 1, height, width]);
        return raw.to(ScalarType.Float32).div(127.5).sub(1.0).MoveToOuterDisposeScope();
    }

    /// <summary>N×1×H×W float32 interior map (0 membrane, 1 interior) from 0/255 label slices.</summary>
    public static Tensor Labels(ReadOnlySpan<byte> slices, int count, int height, int width)
    {
        using var scope = NewDisposeScope();
        var raw = tensor(slices.ToArray(), [count, 1, height, width]);
        return raw.to(ScalarType.Float32).div(255.0).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Network-ready images and interior maps for whole slices, N×2×S×S (channel 0 image, 1 label):
    /// reference mode S = input size (resized to the output size and zero-padded); overlap-tile
    /// mode S = slice + 2·margin (mirror-padded).
    /// </summary>
    public static Tensor Prepare(ReadOnlySpan<byte> images, ReadOnlySpan<byte> labels, int count, int height, int width, DataOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        using var scope = NewDisposeScope();
        var x = Images(images, count, height, width);
        var y = Labels(labels, count, height, width);
        long margin = (options.InputSize - options.OutputSize) / 2;
        if (options.InputMode == InputMode.OverlapTile)
        {
            var both = cat([x, y], 1);
            return F.pad(both, [margin, margin, margin, margin], PaddingModes.Reflect).MoveToOuterDisposeScope();
        }
        long[] outputSize = [options.OutputSize, options.OutputSize];
        var xr = F.interpolate(x, outputSize, mode: InterpolationMode.Bilinear, align_corners: false);
        var yr = F.interpolate(y, outputSize, mode: InterpolationMode.Bilinear, align_corners: false).ge(0.5).to(ScalarType.Float32);
        var joined = cat([xr, yr], 1);
        return F.pad(joined, [margin, margin, margin, margin]).MoveToOuterDisposeScope();
    }

    /// <summary>Splits N×2×S×S image/label pairs into the network input (channel 0) and, centre-cropped to the output size and thresholded, the one-hot labels and class indices.</summary>
    public static (Tensor Images, Tensor Labels, Tensor Classes) Finish(Tensor pairs, DataOptions options)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        using var scope = NewDisposeScope();
        long size = pairs.shape[2];
        long offset = (size - options.OutputSize) / 2;
        var images = pairs.narrow(1, 0, 1).contiguous();
        var interior = pairs.narrow(1, 1, 1).narrow(2, offset, options.OutputSize).narrow(3, offset, options.OutputSize).ge(0.5);
        var classes = interior.squeeze(1).to(ScalarType.Int64);
        var one = interior.to(ScalarType.Float32);
        var labels = cat([1.0 - one, one], 1);
        return (images.MoveToOuterDisposeScope(), labels.MoveToOuterDisposeScope(), classes.contiguous().MoveToOuterDisposeScope());
    }
}
