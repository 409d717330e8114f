using UNet.Segmentation.Imaging.Nifti;

namespace UNet.Segmentation.Data.Msd;

/// <summary>
/// Writes a prediction in the original voxels (<see cref="MsdPostprocessing.ToOriginal"/>) as NIfTI
/// files that overlay the input: a copy of the input's header (qform, sform, voxel size, units) with
/// the new voxels. The label map is uint8 X×Y×Z (argmax); the probabilities are float32 X×Y×Z×classes,
/// the class on NIfTI's 4th dimension, so nibabel's <c>get_fdata()</c> gives an (X, Y, Z, classes)
/// array (the reference saves a NumPy (classes, D, H, W) array instead).
/// </summary>
public static class MsdPredictionWriter
{
    /// <summary>Writes the labels to <paramref name="labelsPath"/> and, when given, the probabilities to <paramref name="probabilitiesPath"/> (gzipped for <c>.gz</c>).</summary>
    /// <param name="probabilities">classes×D×H×W in the original voxels.</param>
    /// <param name="input">The case's image as read (its first three dimensions X, Y, Z are W, H, D).</param>
    /// <param name="inputPath">The image's file, for messages.</param>
    /// <param name="labelsPath">Where the label map goes.</param>
    /// <param name="probabilitiesPath">Where the probabilities go, or null to skip them.</param>
    /// <exception cref="ArgumentException">The input has no affine (qform and sform codes both 0), or its shape is not the probabilities' (the messages name the file).</exception>
    public static void Write(Volume<float> probabilities, NiftiImage input, string inputPath, string labelsPath, string? probabilitiesPath = null)
    {
        ArgumentNullException.ThrowIfNull(probabilities);
        ArgumentNullException.ThrowIfNull(input);
        ArgumentException.ThrowIfNullOrWhiteSpace(labelsPath);
        if (input.Header.QformCode <= 0 && input.Header.SformCode <= 0)
            throw new ArgumentException($"{inputPath} has no affine (qform_code and sform_code are 0): a prediction written in its space would not overlay it", nameof(input));
        var s = probabilities.Shape;
        int[] spatial = [s.Width, s.Height, s.Depth];
        var shape = input.Shape;
        if (shape.Length < 3 || !shape.Take(3).SequenceEqual(spatial))
            throw new ArgumentException(
                $"{inputPath} is {string.Join("×", shape)} (X×Y×Z…) but the prediction is {string.Join("×", spatial)}", nameof(probabilities));
        var labels = MsdPostprocessing.ArgMax(probabilities);
        NiftiFile.Write(labelsPath, input.Like(labels.Data, spatial));
        if (probabilitiesPath is not null)
            NiftiFile.Write(probabilitiesPath, input.Like(probabilities.Data, [.. spatial, probabilities.Channels]));
    }
}
