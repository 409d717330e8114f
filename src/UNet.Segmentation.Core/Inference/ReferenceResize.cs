namespace UNet.Segmentation.Inference;

/// <summary>
/// NVIDIA UNet_Medical's predict path for images of any size: bilinear resize (<see cref="Bilinear"/>)
/// to the network's output size S_out, zero padding by the margin (S_in − S_out)/2 to its input
/// size S_in (zero is mid-grey in [−1, 1]), one forward pass, the soft-max, and a bilinear resize
/// of the probabilities back to H×W. (The reference resizes its argmax·255 masks to 512 instead;
/// resizing probabilities keeps them in [0, 1] and summing to 1, and their 0.5 threshold gives the
/// masks.) Plain arrays: the TorchSharp and the ONNX Runtime predictors share it.
/// </summary>
public static class ReferenceResize
{
    /// <summary>Probabilities N×K×H×W for images N×C×H×W of any H, W ≥ 1, <paramref name="batchSize"/> images per network call.</summary>
    public static FloatImages Predict(FloatImages images, ISegmentationNetwork network, int batchSize = 4)
    {
        ArgumentNullException.ThrowIfNull(images);
        var (inputSize, outputSize, classes) = NetworkShape.Check(network, images, batchSize);
        int margin = (inputSize - outputSize) / 2, c = images.Channels;
        var result = FloatImages.Zeros(images.Count, classes, images.Height, images.Width);
        int imageValues = c * images.Area;
        for (int start = 0; start < images.Count; start += batchSize)
        {
            int count = Math.Min(batchSize, images.Count - start);
            var chunk = new FloatImages(images.Data.AsSpan(start * imageValues, count * imageValues).ToArray(), count, c, images.Height, images.Width);
            var resized = Bilinear.Resize(chunk, outputSize, outputSize);
            var input = FloatImages.Zeros(count, c, inputSize, inputSize);
            for (int p = 0; p < count * c; p++)
                for (int y = 0; y < outputSize; y++)
                    resized.Data.AsSpan((p * outputSize + y) * outputSize, outputSize)
                        .CopyTo(input.Data.AsSpan(p * inputSize * inputSize + (y + margin) * inputSize + margin));
            var probabilities = FloatImages.Zeros(count, classes, outputSize, outputSize);
            network.Probabilities(input.Data, count, probabilities.Data);
            var back = Bilinear.Resize(probabilities, images.Height, images.Width);
            back.Data.CopyTo(result.Data.AsSpan(start * classes * images.Area));
        }
        return result;
    }
}
