namespace UNet.Segmentation.Inference;

/// <summary>How a predictor turns an image of any size into network inputs.</summary>
public enum PredictionInput
{
    /// <summary>
    /// NVIDIA UNet_Medical's predict path: the image (in [−1, 1]) is resized bilinearly to the
    /// model's output size (388 for the reference), zero-padded by the margin to its input size
    /// (572), run once, soft-maxed, and the probabilities resized bilinearly back to H×W
    /// (half-pixel centres, no antialias). Any H×W works; fine detail is lost when the image is
    /// larger than the output size.
    /// </summary>
    ReferenceResize,

    /// <summary>
    /// The paper's overlap-tile strategy at full resolution: the image is mirror-padded by the
    /// margin, cut into input tiles whose output tiles overlap by
    /// <see cref="PredictionOptions.TileOverlap"/>, and the tiles' soft-maxes are blended
    /// (Gaussian-weighted by default). Any H×W ≥ 1 works.
    /// </summary>
    SlidingWindow,
}
