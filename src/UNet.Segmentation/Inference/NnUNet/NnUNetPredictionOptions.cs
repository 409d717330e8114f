using static TorchSharp.torch;

namespace UNet.Segmentation.Inference.NnUNet;

/// <summary>How <see cref="NnUNetSlidingWindow"/> predicts a volume.</summary>
public sealed record NnUNetPredictionOptions
{
    /// <summary>The fraction of a window shared with its neighbour along each axis; the reference's default <c>--overlap 0.25</c>.</summary>
    public double Overlap { get; init; } = 0.25;

    /// <summary>
    /// Blend overlapping windows with Gaussian weights (σ = <see cref="SigmaFraction"/> of the
    /// window, MONAI's <c>mode="gaussian"</c>); false: equal weights (the reference's default
    /// <c>--blend constant</c>). Default true, as the original nnU-Net blends.
    /// </summary>
    public bool Gaussian { get; init; } = true;

    /// <summary>σ of the Gaussian weights as a fraction of the window (MONAI's <c>sigma_scale</c> 0.125).</summary>
    public double SigmaFraction { get; init; } = UNet.Segmentation.Inference.GaussianWeights.DefaultSigmaFraction;

    /// <summary>
    /// Test-time augmentation: every window is also predicted mirrored along each non-empty set of
    /// spatial axes (7 more in 3-D, 3 in 2-D, the reference's <c>--tta</c>) and the logits,
    /// mirrored back, averaged.
    /// </summary>
    public bool TestTimeAugmentation { get; init; }

    /// <summary>Windows per forward pass (the reference's <c>--val_batch_size</c>, default 4).</summary>
    public int BatchSize { get; init; } = 4;

    /// <summary>The compute type: <see cref="ScalarType.Float32"/>, or <see cref="ScalarType.BFloat16"/> (a bfloat16 copy of the model, made once).</summary>
    public ScalarType Precision { get; init; } = ScalarType.Float32;

    /// <summary>Throws when a value is out of range.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The overlap is outside [0, 1), σ not positive, the batch below 1, or the precision neither float32 nor bfloat16.</exception>
    public NnUNetPredictionOptions EnsureValid()
    {
        if (!(Overlap >= 0 && Overlap < 1)) throw new ArgumentOutOfRangeException(nameof(Overlap), Overlap, "the overlap must be in [0, 1)");
        if (!(SigmaFraction > 0) || double.IsInfinity(SigmaFraction)) throw new ArgumentOutOfRangeException(nameof(SigmaFraction), SigmaFraction, "must be positive and finite");
        ArgumentOutOfRangeException.ThrowIfLessThan(BatchSize, 1, nameof(BatchSize));
        if (Precision is not (ScalarType.Float32 or ScalarType.BFloat16))
            throw new ArgumentOutOfRangeException(nameof(Precision), Precision, "float32 or bfloat16");
        return this;
    }
}
