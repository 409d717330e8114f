namespace UNet.Segmentation.Data.Msd;

/// <summary>
/// Brings a prediction made on a preprocessed case back to the case's original voxels, undoing
/// <see cref="MsdPreprocessor.Preprocess"/> in reverse: the padding is cut off, the probabilities
/// are resampled to the cropped box's shape (<see cref="MsdPreprocessing.ResampleImage"/>: linear,
/// nearest along the coarse axis, so every voxel stays a convex combination and sums to 1), and
/// placed at the crop box in a volume of the original shape whose voxels outside the box are
/// background with probability 1.
/// </summary>
/// <remarks>
/// The reference (NVIDIA nnUNet <c>test_step</c>) resamples the logits with cubic splines and takes
/// the softmax afterwards, leaving logits 0 outside the box (uniform probabilities there, whose
/// argmax is the background too). Here probabilities are resampled linearly, as the issue asks, and
/// the outside is certain background.
/// </remarks>
public static class MsdPostprocessing
{
    /// <summary>The probabilities (classes×D×H×W, class 0 the background) in the original image's voxels.</summary>
    /// <exception cref="ArgumentException">The probabilities' shape is not the preprocessed case's (the message names the case).</exception>
    public static Volume<float> ToOriginal(Volume<float> probabilities, MsdCaseProperties properties)
    {
        ArgumentNullException.ThrowIfNull(probabilities);
        ArgumentNullException.ThrowIfNull(properties);
        if (probabilities.Shape != properties.Shape)
            throw new ArgumentException(
                $"the probabilities are {probabilities.Shape} but case {properties.Id} was preprocessed to {properties.Shape}", nameof(probabilities));
        var before = properties.PaddingBefore;
        var resampled = properties.ResampledShape;
        var unpadded = MsdPreprocessing.Crop(probabilities, new Box3D(
            before[0], before[1], before[2], before[0] + resampled.Depth, before[1] + resampled.Height, before[2] + resampled.Width));
        var box = properties.CropBox;
        var cropped = unpadded.Shape == box.Shape ? unpadded : MsdPreprocessing.ResampleImage(unpadded, box.Shape, properties.CoarseAxis);
        var original = Volume<float>.Zeros(probabilities.Channels, properties.OriginalShape);
        original.Channel(0).Fill(1);
        var o = properties.OriginalShape;
        var c = box.Shape;
        for (int k = 0; k < probabilities.Channels; k++)
            for (int z = 0; z < c.Depth; z++)
                for (int y = 0; y < c.Height; y++)
                    Array.Copy(cropped.Data, ((k * c.Depth + z) * c.Height + y) * c.Width,
                        original.Data, ((k * o.Depth + z + box.StartZ) * o.Height + y + box.StartY) * o.Width + box.StartX, c.Width);
        return original;
    }

    /// <summary>The most probable class of every voxel (the first on ties), 1×D×H×W.</summary>
    /// <exception cref="ArgumentException">More than 256 classes.</exception>
    public static Volume<byte> ArgMax(Volume<float> probabilities)
    {
        ArgumentNullException.ThrowIfNull(probabilities);
        if (probabilities.Channels > 256) throw new ArgumentException($"{probabilities.Channels} classes do not fit a byte label map", nameof(probabilities));
        int n = probabilities.Shape.Voxels;
        var labels = new byte[n];
        var best = probabilities.Channel(0).ToArray();
        for (int k = 1; k < probabilities.Channels; k++)
        {
            var channel = probabilities.Channel(k);
            for (int i = 0; i < n; i++)
                if (channel[i] > best[i])
                {
                    best[i] = channel[i];
                    labels[i] = (byte)k;
                }
        }
        return new Volume<byte>(labels, 1, probabilities.Shape);
    }
}
