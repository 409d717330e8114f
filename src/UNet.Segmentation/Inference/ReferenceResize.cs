using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace UNet.Segmentation.Inference;

/// <summary>
/// NVIDIA UNet_Medical's predict path for images of any size: bilinear resize (half-pixel
/// centres, no antialias) to the network's output size S_out, zero padding by the margin
/// (S_in − S_out)/2 to its input size S_in (zero is mid-grey in [−1, 1]), one forward pass, the
/// soft-max, and a bilinear resize of the probabilities back to H×W. (The reference resizes its
/// argmax·255 masks to 512 instead; resizing probabilities keeps them in [0, 1] and summing to 1,
/// and their 0.5 threshold gives the masks.)
/// </summary>
public static class ReferenceResize
{
    /// <summary>
    /// Probabilities N×classes×H×W (float32) for images N×C×H×W of any H, W ≥ 1.
    /// <paramref name="probabilities"/> maps a batch B×C×S_in×S_in to B×classes×S_out×S_out.
    /// </summary>
    /// <param name="images">The images, N×C×H×W.</param>
    /// <param name="probabilities">The network, soft-max included.</param>
    /// <param name="inputSize">S_in.</param>
    /// <param name="outputSize">S_out; S_in − S_out must be even and non-negative.</param>
    /// <param name="batchSize">Images per call of <paramref name="probabilities"/>.</param>
    public static Tensor Predict(Tensor images, Func<Tensor, Tensor> probabilities, int inputSize, int outputSize, int batchSize = 4)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(probabilities);
        ArgumentOutOfRangeException.ThrowIfLessThan(outputSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        if (inputSize < outputSize || (inputSize - outputSize) % 2 != 0)
            throw new ArgumentException($"the input size ({inputSize}) must exceed the output size ({outputSize}) by an even margin", nameof(inputSize));
        if (images.Dimensions != 4) throw new ArgumentException($"images must be N×C×H×W; got {images.Dimensions} dimensions", nameof(images));
        using var scope = NewDisposeScope();
        long n = images.shape[0], h = images.shape[2], w = images.shape[3], margin = (inputSize - outputSize) / 2;
        var parts = new List<Tensor>();
        for (long start = 0; start < n; start += batchSize)
        {
            using var inner = NewDisposeScope();
            var chunk = images.narrow(0, start, Math.Min(batchSize, n - start));
            var resized = F.interpolate(chunk, [outputSize, outputSize], mode: InterpolationMode.Bilinear, align_corners: false);
            var input = margin > 0 ? F.pad(resized, [margin, margin, margin, margin]) : resized;
            var p = probabilities(input).to(ScalarType.Float32);
            var shape = p.shape;
            if (shape.Length != 4 || shape[0] != chunk.shape[0] || shape[2] != outputSize || shape[3] != outputSize)
                throw new InvalidOperationException($"the network returned [{string.Join(", ", shape)}]; expected [{chunk.shape[0]}, classes, {outputSize}, {outputSize}]");
            parts.Add(F.interpolate(p, [h, w], mode: InterpolationMode.Bilinear, align_corners: false).MoveToOuterDisposeScope());
        }
        return (parts.Count == 1 ? parts[0] : cat(parts)).MoveToOuterDisposeScope();
    }
}
