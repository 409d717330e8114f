namespace UNet.Segmentation;

/// <summary>
/// How an image meets a network of fixed input and output sizes, in training
/// (<c>DataOptions.InputMode</c>) and in prediction (<see cref="Inference.PredictionOptions.Input"/>)
/// alike: one idea, one enum.
/// </summary>
public enum InputMode
{
    /// <summary>
    /// NVIDIA UNet_Medical's: the image (in [−1, 1]) is resized bilinearly to the model's output
    /// size (388 for the reference) and zero-padded by the margin to its input size (572). In
    /// training the label is the resized slice; in prediction the soft-maxed output is resized
    /// bilinearly back to H×W (half-pixel centres, no antialias). Any H×W works; fine detail is
    /// lost when the image is larger than the output size.
    /// </summary>
    ReferenceResize,

    /// <summary>
    /// The 2015 paper's overlap-tile strategy at full resolution: the image is mirror-padded by the
    /// margin and input tiles are cut from it. In training a tile's label is its central output
    /// window; in prediction the tiles' output windows overlap by
    /// <see cref="Inference.PredictionOptions.TileOverlap"/> and their soft-maxes are blended
    /// (Gaussian-weighted by default): a sliding window. Any H×W ≥ 1 works.
    /// </summary>
    OverlapTile,
}
