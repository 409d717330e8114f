namespace UNet.Segmentation.Data.Msd;

/// <summary>What <see cref="SyntheticMsd.Generate"/> makes.</summary>
public sealed record SyntheticMsdOptions
{
    /// <summary>Training cases (image + label). Default 6.</summary>
    public int TrainingCases { get; init; } = 6;

    /// <summary>Test cases (image only). Default 2.</summary>
    public int TestCases { get; init; } = 2;

    /// <summary>Each volume's size (z, y, x). Default 48³.</summary>
    public Shape3D Size { get; init; } = new(48, 48, 48);

    /// <summary>The voxel size (z, y, x) in mm. Default 1×1×1, BraTS's; <see cref="AnisotropicSpacing"/> is a prostate- or colon-like alternative.</summary>
    public IReadOnlyList<double> Spacing { get; init; } = [1.0, 1.0, 1.0];

    /// <summary>
    /// How much the spacing varies between cases: each case's spacing along each axis is
    /// <see cref="Spacing"/> times 1 + <c>SpacingJitter</c>·u, u uniform in [−1, 1], rounded to
    /// 0.01 mm. Default 0 (every case alike, as BraTS); above 0 the median differs from some
    /// cases' spacing, so those are resampled.
    /// </summary>
    public double SpacingJitter { get; init; }

    /// <summary>
    /// False (default): a BraTS-like MRI task (Task01's layout: 4 modalities FLAIR, T1w, t1gd,
    /// T2w as the 4th dimension; labels 0 background, 1 edema, 2 non-enhancing tumor, 3 enhancing
    /// tumour, nested in that order inside a non-zero "brain" in a zero background). True: a
    /// CT task like Task03 (one modality "CT" in Hounsfield-like units, −1000 air around a body;
    /// labels 0 background, 1 liver, 2 cancer).
    /// </summary>
    public bool Ct { get; init; }

    /// <summary>The seed; the same options give the same files.</summary>
    public int Seed { get; init; }

    /// <summary>A prostate- or colon-like anisotropic spacing, 2.5 mm between slices and 0.8 mm in plane (z, y, x).</summary>
    public static IReadOnlyList<double> AnisotropicSpacing { get; } = [2.5, 0.8, 0.8];

    /// <summary>Throws <see cref="OptionsValidationException"/> listing every invalid setting.</summary>
    public void Validate()
    {
        var problems = new List<string>();
        if (TrainingCases < 1) problems.Add($"{nameof(TrainingCases)} must be at least 1, not {TrainingCases}");
        if (TestCases < 0) problems.Add($"{nameof(TestCases)} must not be negative, not {TestCases}");
        if (Size.Depth < 8 || Size.Height < 8 || Size.Width < 8) problems.Add($"{nameof(Size)} must be at least 8 along each axis, not {Size}");
        if (Spacing is null || Spacing.Count != 3 || Spacing.Any(v => !double.IsFinite(v) || v <= 0))
            problems.Add($"{nameof(Spacing)} must be 3 finite positive values (z, y, x)");
        if (!(SpacingJitter is >= 0 and < 0.5)) problems.Add($"{nameof(SpacingJitter)} must lie in [0, 0.5), not {SpacingJitter}");
        if (problems.Count > 0) throw new OptionsValidationException(nameof(SyntheticMsdOptions), problems);
    }
}
