namespace UNet.Segmentation.Data.Msd;

/// <summary>
/// The reference's 3-D training augmentations (NVIDIA nnU-Net's DALI pipeline,
/// <c>data_loading/dali_loader.py</c>, PyTorch version), with its probabilities and ranges as
/// defaults. Each transform happens independently with its probability; the order is zoom,
/// mirroring, noise, blur, brightness, contrast. Labels follow zoom and mirroring only.
/// </summary>
public sealed record MsdAugmentationOptions
{
    /// <summary>The reference's settings (the defaults).</summary>
    public static MsdAugmentationOptions Reference { get; } = new();

    /// <summary>No augmentation: every probability 0.</summary>
    public static MsdAugmentationOptions None { get; } = new()
    {
        ZoomProbability = 0, FlipProbability = 0, NoiseProbability = 0, BlurProbability = 0, BrightnessProbability = 0, ContrastProbability = 0,
    };

    /// <summary>Probability of a zoom: the centre (scale · patch) of the patch resized back to the patch. 0.15.</summary>
    public double ZoomProbability { get; init; } = 0.15;

    /// <summary>The zoom's scale range, uniform. [0.7, 1.0].</summary>
    public (double Min, double Max) ZoomScale { get; init; } = (0.7, 1.0);

    /// <summary>Probability of mirroring, independently along each of z, y and x. 0.5.</summary>
    public double FlipProbability { get; init; } = 0.5;

    /// <summary>Probability of additive Gaussian noise. 0.15.</summary>
    public double NoiseProbability { get; init; } = 0.15;

    /// <summary>The noise's standard deviation range, uniform. [0, 0.33] (the TensorFlow 2 twin: 0.3).</summary>
    public (double Min, double Max) NoiseStd { get; init; } = (0, 0.33);

    /// <summary>Probability of a Gaussian blur. 0.15.</summary>
    public double BlurProbability { get; init; } = 0.15;

    /// <summary>The blur's σ range in voxels, uniform. [0.5, 1.5].</summary>
    public (double Min, double Max) BlurSigma { get; init; } = (0.5, 1.5);

    /// <summary>Probability of a brightness change (every voxel multiplied by one factor). 0.15.</summary>
    public double BrightnessProbability { get; init; } = 0.15;

    /// <summary>The brightness factor's range, uniform. [0.7, 1.3].</summary>
    public (double Min, double Max) Brightness { get; init; } = (0.7, 1.3);

    /// <summary>Probability of a contrast change (multiplied by a factor, clamped to the patch's former minimum and maximum). 0.15.</summary>
    public double ContrastProbability { get; init; } = 0.15;

    /// <summary>The contrast factor's range, uniform. [0.65, 1.5].</summary>
    public (double Min, double Max) Contrast { get; init; } = (0.65, 1.5);

    /// <summary>Throws <see cref="OptionsValidationException"/> listing every invalid setting.</summary>
    public void Validate()
    {
        var problems = new List<string>();
        void Probability(double p, string name)
        {
            if (!(p is >= 0 and <= 1)) problems.Add($"{name} must lie in [0, 1], not {p}");
        }
        void Range((double Min, double Max) r, string name, double floor)
        {
            if (!(r.Min >= floor && r.Min <= r.Max && double.IsFinite(r.Max))) problems.Add($"{name} must satisfy {floor} ≤ Min ≤ Max, not {r}");
        }
        Probability(ZoomProbability, nameof(ZoomProbability));
        Probability(FlipProbability, nameof(FlipProbability));
        Probability(NoiseProbability, nameof(NoiseProbability));
        Probability(BlurProbability, nameof(BlurProbability));
        Probability(BrightnessProbability, nameof(BrightnessProbability));
        Probability(ContrastProbability, nameof(ContrastProbability));
        Range(ZoomScale, nameof(ZoomScale), double.Epsilon);
        if (ZoomScale.Max > 1) problems.Add($"{nameof(ZoomScale)} crops the patch's centre, so its Max must be at most 1, not {ZoomScale.Max}");
        Range(NoiseStd, nameof(NoiseStd), 0);
        Range(BlurSigma, nameof(BlurSigma), double.Epsilon);
        Range(Brightness, nameof(Brightness), 0);
        Range(Contrast, nameof(Contrast), 0);
        if (problems.Count > 0) throw new OptionsValidationException(nameof(MsdAugmentationOptions), problems);
    }
}

/// <summary>
/// One patch's drawn augmentation: null (or false) for a transform that does not happen.
/// </summary>
/// <param name="Zoom">The zoom scale, or null.</param>
/// <param name="FlipZ">Mirror along z.</param>
/// <param name="FlipY">Mirror along y.</param>
/// <param name="FlipX">Mirror along x.</param>
/// <param name="NoiseStd">The noise's standard deviation, or null.</param>
/// <param name="NoiseSeed">The seed of the noise's generator.</param>
/// <param name="BlurSigma">The blur's σ, or null.</param>
/// <param name="Brightness">The brightness factor, or null.</param>
/// <param name="Contrast">The contrast factor, or null.</param>
public sealed record MsdAugmentationDraw(double? Zoom, bool FlipZ, bool FlipY, bool FlipX, double? NoiseStd, long NoiseSeed, double? BlurSigma, double? Brightness, double? Contrast);
