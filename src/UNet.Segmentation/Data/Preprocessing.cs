using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;
using UNet.Segmentation.Runtime;

namespace UNet.Segmentation.Data;

/// <summary>
/// The reference's preprocessing as tensor ops: images to [−1, 1] (x/127.5 − 1), labels to
/// {0 membrane, 1 interior} (or, for more than two classes, one-hot maps); reference mode resizes
/// bilinearly (half-pixel centres, no antialias) to the output size, makes the label hard again
/// (threshold 0.5) and zero-pads both to the input size; overlap-tile mode mirror-pads both by the
/// margin instead.
/// </summary>
public static class Preprocessing
{
    // Held, not temporaries per call (see Training/Losses.cs, Two); the same numbers as before.
    private static readonly Scalar HalfByte = 127.5.ToScalar(), FullByte = 255.0.ToScalar(), One = 1.0.ToScalar(), Threshold = 0.5.ToScalar();

    /// <summary>N×1×H×W float32 in [−1, 1] from 8-bit slices.</summary>
    public static Tensor Images(ReadOnlySpan<byte> slices, int count, int height, int width)
    {
        using var scope = NewDisposeScope();
        var raw = tensor(slices.ToArray(), [count, 1, height, width]);
        return raw.to(ScalarType.Float32).div(HalfByte).sub(One).MoveToOuterDisposeScope();
    }

    /// <summary>N×1×H×W float32 interior map (0 membrane, 1 interior) from 0/255 label slices.</summary>
    public static Tensor Labels(ReadOnlySpan<byte> slices, int count, int height, int width)
    {
        using var scope = NewDisposeScope();
        var raw = tensor(slices.ToArray(), [count, 1, height, width]);
        return raw.to(ScalarType.Float32).div(FullByte).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Network-ready images and interior maps for whole slices, N×2×S×S (channel 0 image, 1 label):
    /// reference mode S = input size (resized to the output size and zero-padded); overlap-tile
    /// mode S = slice + 2·margin (mirror-padded).
    /// </summary>
    public static Tensor Prepare(ReadOnlySpan<byte> images, ReadOnlySpan<byte> labels, int count, int height, int width, DataOptions options)
    {
        using var scope = NewDisposeScope();
        return Prepare(Images(images, count, height, width), Labels(labels, count, height, width), options).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The label channels for class indices N×H×W (int64, 0..<paramref name="classes"/>−1): for two
    /// classes one channel, the class-1 map; for more, one channel per class (one-hot). Float32, N×L×H×W.
    /// </summary>
    public static Tensor LabelChannels(Tensor classIndices, int classes)
    {
        ArgumentNullException.ThrowIfNull(classIndices);
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 2);
        using var scope = NewDisposeScope();
        var result = classes == 2
            ? classIndices.unsqueeze(1).to(ScalarType.Float32)
            : F.one_hot(classIndices, classes).permute(0, 3, 1, 2).to(ScalarType.Float32);
        return result.contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Network-ready image/label pairs N×(C+L)×S×S from images N×C×H×W in [−1, 1] and label channels
    /// N×L×H×W (<see cref="LabelChannels"/>): reference mode resizes both bilinearly to the output size
    /// (labels made hard again: the class-1 map at 0.5, one-hot maps by their largest value) and
    /// zero-pads to the input size (S = input size); overlap-tile mode mirror-pads by the margin
    /// (S = H + 2·margin; an item smaller than the output size is mirrored up to it where it can be,
    /// else repeated at its edges).
    /// </summary>
    public static Tensor Prepare(Tensor images, Tensor labels, DataOptions options)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(options);
        using var scope = NewDisposeScope();
        long margin = (options.InputSize - options.OutputSize) / 2;
        if (options.InputMode == InputMode.OverlapTile)
        {
            var both = cat([images, labels], 1);
            long extraY = Math.Max(0, options.OutputSize - both.shape[2]), extraX = Math.Max(0, options.OutputSize - both.shape[3]);
            long[] pad = [margin, margin + extraX, margin, margin + extraY];
            // Reflection needs a pad smaller than the side; tiny items are repeated at the edges instead.
            var mode = pad.Max() < Math.Min(both.shape[2], both.shape[3]) ? PaddingModes.Reflect : PaddingModes.Replicate;
            return F.pad(both, pad, mode).MoveToOuterDisposeScope();
        }
        long[] outputSize = [options.OutputSize, options.OutputSize];
        var xr = F.interpolate(images, outputSize, mode: InterpolationMode.Bilinear, align_corners: false);
        var yr = F.interpolate(labels, outputSize, mode: InterpolationMode.Bilinear, align_corners: false);
        yr = labels.shape[1] == 1 ? yr.ge(Threshold).to(ScalarType.Float32) : LabelChannels(yr.argmax(1), (int)labels.shape[1]);
        var joined = cat([xr, yr], 1);
        return F.pad(joined, [margin, margin, margin, margin]).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Splits N×(C+L)×S×S image/label pairs into the network input (the first
    /// <paramref name="imageChannels"/> channels) and, centre-cropped to the output size and made
    /// hard (the class-1 map at 0.5; one-hot maps by their largest value), the one-hot labels
    /// N×K×O×O and the class indices N×O×O.
    /// </summary>
    public static (Tensor Images, Tensor Labels, Tensor Classes) Finish(Tensor pairs, DataOptions options, int imageChannels = 1)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        ArgumentNullException.ThrowIfNull(options);
        using var scope = NewDisposeScope();
        long size = pairs.shape[2];
        long offset = (size - options.OutputSize) / 2;
        long labelChannels = pairs.shape[1] - imageChannels;
        if (labelChannels < 1) throw new ArgumentException($"the pairs have {pairs.shape[1]} channels: no label after {imageChannels} image channel(s)", nameof(pairs));
        var images = pairs.narrow(1, 0, imageChannels).contiguous();
        var label = pairs.narrow(1, imageChannels, labelChannels).narrow(2, offset, options.OutputSize).narrow(3, offset, options.OutputSize);
        Tensor classes, labels;
        if (labelChannels == 1)
        {
            var interior = label.ge(Threshold);
            classes = interior.squeeze(1).to(ScalarType.Int64);
            var one = interior.to(ScalarType.Float32);
            labels = cat([one.negative().Plus(One), one], 1);   // 1 − one, as TorchSharp's operator computes it
        }
        else
        {
            classes = label.argmax(1);
            labels = LabelChannels(classes, (int)labelChannels);
        }
        return (images.MoveToOuterDisposeScope(), labels.MoveToOuterDisposeScope(), classes.contiguous().MoveToOuterDisposeScope());
    }
}
