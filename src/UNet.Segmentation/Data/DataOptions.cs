namespace UNet.Segmentation.Data;

/// <summary>
/// Preprocessing and augmentation of <see cref="IsbiDataset"/> batches. The defaults are the
/// reference's published runs: reference resize, augmentation on (flips, crop-and-resize,
/// brightness), rotation and elastic deformation (the TF1 version's extras) off.
/// </summary>
public sealed record DataOptions
{
    /// <summary>The reference recipe.</summary>
    public static DataOptions Reference { get; } = new();

    /// <summary>Input mode.</summary>
    public InputMode InputMode { get; init; } = InputMode.ReferenceResize;

    /// <summary>Network input size (572 for the reference model).</summary>
    public int InputSize { get; init; } = 572;

    /// <summary>Network output (label) size (388 for the reference model).</summary>
    public int OutputSize { get; init; } = 388;

    /// <summary>Augment training batches at all.</summary>
    public bool Augment { get; init; } = true;

    /// <summary>Probability of a horizontal flip, and of a vertical flip (the reference: U &gt; 0.5).</summary>
    public double FlipProbability { get; init; } = 0.5;

    /// <summary>The crop box edges move inwards by up to this fraction (the reference: 0.3U per edge), then the crop is resized back.</summary>
    public double CropFraction { get; init; } = 0.3;

    /// <summary>A uniform value in ±this is added to the whole image ([−1, 1] scale), then clipped.</summary>
    public double BrightnessDelta { get; init; } = 0.2;

    /// <summary>Random rotation by up to ± this many degrees; 0 disables it.</summary>
    public double RotationDegrees { get; init; }

    /// <summary>Elastic deformation: standard deviation in pixels of random displacements on a coarse grid (the paper: 10); 0 disables it.</summary>
    public double ElasticSigma { get; init; }

    /// <summary>Control points per side of the elastic grid (the paper: 3).</summary>
    public int ElasticGrid { get; init; } = 3;

    /// <summary>Batches prepared ahead on the background thread.</summary>
    public int PrefetchBatches { get; init; } = 2;

    /// <summary>Every problem, each naming its option; empty when usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var p = new List<string>();
        if (!Enum.IsDefined(InputMode)) p.Add($"{nameof(InputMode)} {InputMode} is not a known mode");
        if (OutputSize < 1) p.Add($"{nameof(OutputSize)} must be positive (got {OutputSize})");
        if (InputSize < OutputSize || (InputSize - OutputSize) % 2 != 0)
            p.Add($"{nameof(InputSize)} {InputSize} must be at least {nameof(OutputSize)} {OutputSize} with an even difference");
        if (!(FlipProbability is >= 0 and <= 1)) p.Add($"{nameof(FlipProbability)} must lie in [0, 1] (got {FlipProbability})");
        if (!(CropFraction is >= 0 and < 0.5)) p.Add($"{nameof(CropFraction)} must lie in [0, 0.5) (got {CropFraction})");
        if (!(BrightnessDelta is >= 0 and <= 2)) p.Add($"{nameof(BrightnessDelta)} must lie in [0, 2] (got {BrightnessDelta})");
        if (!(RotationDegrees is >= 0 and <= 180)) p.Add($"{nameof(RotationDegrees)} must lie in [0, 180] (got {RotationDegrees})");
        if (!(ElasticSigma >= 0) || double.IsInfinity(ElasticSigma)) p.Add($"{nameof(ElasticSigma)} must be a finite non-negative number (got {ElasticSigma})");
        if (ElasticGrid < 2) p.Add($"{nameof(ElasticGrid)} must be at least 2 (got {ElasticGrid})");
        if (PrefetchBatches < 1) p.Add($"{nameof(PrefetchBatches)} must be at least 1 (got {PrefetchBatches})");
        return p;
    }

    /// <summary>These options with <see cref="InputSize"/> and <see cref="OutputSize"/> taken from <paramref name="model"/>: the trainer and the evaluator call it, so a user never states the sizes twice.</summary>
    public DataOptions ForModel(Model.UNetModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return this with { InputSize = model.Options.InputSize, OutputSize = model.OutputSize(model.Options.InputSize) };
    }

    /// <summary>Throws an <see cref="OptionsValidationException"/> listing every problem, if any.</summary>
    public DataOptions EnsureValid()
    {
        OptionsValidationException.ThrowIfAny(Validate(), "data options");
        return this;
    }
}
