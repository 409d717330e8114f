using UNet.Segmentation.Torch;

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
        using var scope = TensorScope.Begin();
        var raw = Tensor.From(slices, [count, 1, height, width]);
        return scope.MoveToOuter(raw.To(ScalarType.Float32).Div(127.5).Sub(1.0));
    }

    /// <summary>N×1×H×W float32 interior map (0 membrane, 1 interior) from 0/255 label slices.</summary>
    public static Tensor Labels(ReadOnlySpan<byte> slices, int count, int height, int width)
    {
        using var scope = TensorScope.Begin();
        var raw = Tensor.From(slices, [count, 1, height, width]);
        return scope.MoveToOuter(raw.To(ScalarType.Float32).Div(255.0));
    }

    /// <summary>
    /// Network-ready images and interior maps for whole slices, N×2×S×S (channel 0 image, 1 label):
    /// reference mode S = input size (resized to the output size and zero-padded); overlap-tile
    /// mode S = slice + 2·margin (mirror-padded).
    /// </summary>
    public static Tensor Prepare(ReadOnlySpan<byte> images, ReadOnlySpan<byte> labels, int count, int height, int width, DataOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        using var scope = TensorScope.Begin();
        var x = Images(images, count, height, width);
        var y = Labels(labels, count, height, width);
        long margin = (options.InputSize - options.OutputSize) / 2;
        if (options.InputMode == InputMode.OverlapTile)
        {
            var both = Tensor.Cat([x, y], 1);
            return scope.MoveToOuter(both.Pad([margin, margin, margin, margin], PaddingMode.Reflect));
        }
        var xr = Functional.Interpolate(x, options.OutputSize, options.OutputSize, InterpolationMode.Bilinear);
        var yr = Functional.Interpolate(y, options.OutputSize, options.OutputSize, InterpolationMode.Bilinear).Ge(0.5).To(ScalarType.Float32);
        var joined = Tensor.Cat([xr, yr], 1);
        return scope.MoveToOuter(joined.Pad([margin, margin, margin, margin]));
    }

    /// <summary>Splits N×2×S×S image/label pairs into the network input (channel 0) and, centre-cropped to the output size and thresholded, the one-hot labels and class indices.</summary>
    public static (Tensor Images, Tensor Labels, Tensor Classes) Finish(Tensor pairs, DataOptions options)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        using var scope = TensorScope.Begin();
        long size = pairs.Size(2);
        long offset = (size - options.OutputSize) / 2;
        var images = pairs.Narrow(1, 0, 1).Contiguous();
        var interior = pairs.Narrow(1, 1, 1).Narrow(2, offset, options.OutputSize).Narrow(3, offset, options.OutputSize).Ge(0.5);
        var classes = interior.Squeeze(1).To(ScalarType.Int64);
        var one = interior.To(ScalarType.Float32);
        var labels = Tensor.Cat([1.0 - one, one], 1);
        return (scope.MoveToOuter(images), scope.MoveToOuter(labels), scope.MoveToOuter(classes.Contiguous()));
    }
}
