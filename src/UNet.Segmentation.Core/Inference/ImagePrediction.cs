namespace UNet.Segmentation.Inference;

/// <summary>
/// What <c>PredictImage</c> gives for one image held in memory: the class of every pixel, every
/// class's probability, and (when asked for) the mask and overlay as PNG bytes.
/// </summary>
/// <param name="Height">The image's rows H.</param>
/// <param name="Width">The image's columns W.</param>
/// <param name="Classes">The network's classes K.</param>
/// <param name="Mask">H×W class indices, row-major: the most probable class of each pixel (the first on ties).</param>
/// <param name="Probabilities">K×H×W soft-max probabilities, one row-major plane per class.</param>
public sealed record ImagePrediction(int Height, int Width, int Classes, byte[] Mask, float[] Probabilities)
{
    /// <summary>The mask as an 8-bit grey PNG (pixel value = class index), or null when pictures were not asked for.</summary>
    public byte[]? MaskPng { get; init; }

    /// <summary>The image with classes 1, 2, … tinted (<c>Overlays.BlendClasses</c>) as an RGB PNG, or null when pictures were not asked for.</summary>
    public byte[]? OverlayPng { get; init; }

    /// <summary>Class <paramref name="k"/>'s probabilities, H×W row-major.</summary>
    public ReadOnlySpan<float> ClassProbabilities(int k)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(k, Classes);
        return Probabilities.AsSpan(k * Height * Width, Height * Width);
    }

    /// <summary>The share of pixels predicted as each class (K values summing to one).</summary>
    public IReadOnlyList<double> ClassShares()
    {
        var share = new double[Classes];
        foreach (byte m in Mask) share[m]++;
        for (int k = 0; k < Classes; k++) share[k] /= Mask.Length;
        return share;
    }
}
