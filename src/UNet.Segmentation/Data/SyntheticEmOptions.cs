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

    /// <summary>Returns these options when they are usable.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range; <see cref="ArgumentException.ParamName"/> names it.</exception>
    public SyntheticEmOptions EnsureValid()
    {
        if (Slices < 1) throw Bad(nameof(Slices), Slices, "at least 1 slice is needed");
        if (Size < 1) throw Bad(nameof(Size), Size, "the size must be at least 1 pixel");
        if ((long)Slices * Size * Size > Array.MaxLength)
            throw Bad(nameof(Size), Size, $"{Slices} slices of {Size} × {Size} exceed the largest array");
        if (!double.IsFinite(MeanCellDiameter) || MeanCellDiameter < 2)
            throw Bad(nameof(MeanCellDiameter), MeanCellDiameter, "the mean cell diameter must be a finite number of at least 2 pixels");
        if (!double.IsFinite(MembraneWidthMin) || MembraneWidthMin <= 0)
            throw Bad(nameof(MembraneWidthMin), MembraneWidthMin, "the thinnest membrane must be a positive, finite width");
        if (!double.IsFinite(MembraneWidthMax) || MembraneWidthMax < MembraneWidthMin)
            throw Bad(nameof(MembraneWidthMax), MembraneWidthMax, $"the thickest membrane must be finite and at least {nameof(MembraneWidthMin)} ({MembraneWidthMin})");
        if (MembraneWidthMax >= MeanCellDiameter)
            throw Bad(nameof(MembraneWidthMax), MembraneWidthMax, $"membranes as thick as the cells ({nameof(MeanCellDiameter)} {MeanCellDiameter}) leave no interior");
        if (!double.IsFinite(Noise) || Noise < 0 || Noise > 1)
            throw Bad(nameof(Noise), Noise, "the noise must lie in [0, 1]");
        return this;
    }

    private static ArgumentOutOfRangeException Bad(string option, object value, string message) => new(option, value, message);
}
