namespace UNet.Segmentation.Inference;

/// <summary>
/// How a predictor predicts, whatever engine runs the network: <c>PredictorOptions</c>
/// (TorchSharp) and <c>OnnxPredictorOptions</c> (ONNX Runtime) add the engine's own settings. The
/// defaults reproduce NVIDIA UNet_Medical's predict path.
/// </summary>
public abstract record PredictionOptions
{
    /// <summary>How images become network inputs (resize, as the reference, or sliding window).</summary>
    public InputMode Input { get; init; } = InputMode.ReferenceResize;

    /// <summary>Sliding window: the fraction of an output tile shared with its neighbour, in [0, 1); the stride is ⌊S_out·(1 − overlap)⌋ (at least 1).</summary>
    public double TileOverlap { get; init; } = 0.5;

    /// <summary>Sliding window: weight each tile's probabilities by a Gaussian (σ = 1/8 of the tile, peak 1) and divide by the summed weights, as nnU-Net; false weighs every pixel of a tile equally.</summary>
    public bool GaussianBlending { get; init; } = true;

    /// <summary>Test-time augmentation: average the probabilities over the four flip combinations (none, horizontal, vertical, both), each flipped back (4× the work).</summary>
    public bool FlipTta { get; init; }

    /// <summary>Post-processing of the probability maps (two-class networks): null (the default) for none, or the removal of small interior segments.</summary>
    public SmallSegmentRemoval? PostProcessing { get; init; }

    /// <summary>Network inputs (tiles, or resized images) per forward pass.</summary>
    public int BatchSize { get; init; } = 4;

    /// <summary>Every problem with these options, each beginning with the option's name; empty when they are usable.</summary>
    public virtual IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (!Enum.IsDefined(Input)) problems.Add($"{nameof(Input)} {Input} is not a known prediction input");
        if (!(TileOverlap >= 0 && TileOverlap < 1)) problems.Add($"{nameof(TileOverlap)} must lie in [0, 1) (got {TileOverlap})");
        if (BatchSize < 1) problems.Add($"{nameof(BatchSize)} must be at least 1 (got {BatchSize})");
        if (PostProcessing is { } post) problems.AddRange(post.Validate());
        return problems;
    }

    /// <summary>Throws an <see cref="OptionsValidationException"/> whose parameter name is the first bad option and whose message lists every problem, if there are any.</summary>
    protected void ThrowIfInvalid()
    {
        OptionsValidationException.ThrowIfAny(Validate(), "predictor options");
    }
}
