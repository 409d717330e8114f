namespace UNet.Segmentation.Data;

/// <summary>
/// What <see cref="SyntheticEm.Generate"/> makes. The defaults give a volume shaped like ISBI 2012's
/// training data: 30 slices of 512 × 512, with about a fifth of the pixels membrane.
/// </summary>
public sealed record SyntheticEmOptions
{
    /// <summary>Number of slices (pages); at least 1. ISBI 2012 has 30.</summary>
    public int Slices { get; init; } = 30;

    /// <summary>Width and height of each slice in pixels; at least 1. ISBI 2012 has 512.</summary>
    public int Size { get; init; } = 512;

    /// <summary>Mean cell diameter in pixels (the diameter of a disc of the mean cell area); at least 2.</summary>
    public double MeanCellDiameter { get; init; } = 40;

    /// <summary>Thinnest membrane in pixels; positive.</summary>
    public double MembraneWidthMin { get; init; } = 2;

    /// <summary>Thickest membrane in pixels; at least <see cref="MembraneWidthMin"/> and below <see cref="MeanCellDiameter"/>.</summary>
    public double MembraneWidthMax { get; init; } = 6;

    /// <summary>Standard deviation of the additive Gaussian noise as a fraction of the 0..255 range, in [0, 1].</summary>
    public double Noise { get; init; } = 0.08;

    /// <summary>Seed of the generator: the same options give the same bytes, on any machine and thread count.</summary>
    public int Seed { get; init; }

    /// <summary>Every problem, each naming its option; empty when usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var p = new List<string>();
        if (Slices < 1) p.Add($"{nameof(Slices)} must be at least 1 (got {Slices})");
        if (Size < 1) p.Add($"{nameof(Size)} must be at least 1 pixel (got {Size})");
        else if (Slices >= 1 && (long)Slices * Size * Size > Array.MaxLength) p.Add($"{nameof(Size)} {Size}: {Slices} slices of {Size} × {Size} exceed the largest array");
        if (!double.IsFinite(MeanCellDiameter) || MeanCellDiameter < 2) p.Add($"{nameof(MeanCellDiameter)} must be a finite number of at least 2 pixels (got {MeanCellDiameter})");
        if (!double.IsFinite(MembraneWidthMin) || MembraneWidthMin <= 0) p.Add($"{nameof(MembraneWidthMin)} must be a positive, finite width (got {MembraneWidthMin})");
        if (!double.IsFinite(MembraneWidthMax) || MembraneWidthMax < MembraneWidthMin)
            p.Add($"{nameof(MembraneWidthMax)} must be finite and at least {nameof(MembraneWidthMin)} ({MembraneWidthMin}) (got {MembraneWidthMax})");
        else if (MembraneWidthMax >= MeanCellDiameter)
            p.Add($"{nameof(MembraneWidthMax)} {MembraneWidthMax}: membranes as thick as the cells ({nameof(MeanCellDiameter)} {MeanCellDiameter}) leave no interior");
        if (!double.IsFinite(Noise) || Noise < 0 || Noise > 1) p.Add($"{nameof(Noise)} must lie in [0, 1] (got {Noise})");
        return p;
    }

    /// <summary>Returns these options when they are usable.</summary>
    /// <exception cref="OptionsValidationException">Every problem; <see cref="ArgumentException.ParamName"/> names the first one's option.</exception>
    public SyntheticEmOptions EnsureValid()
    {
        OptionsValidationException.ThrowIfAny(Validate(), "synthetic EM options");
        return this;
    }
}
