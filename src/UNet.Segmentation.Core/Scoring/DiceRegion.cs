namespace UNet.Segmentation.Scoring;

/// <summary>A region scored by Dice: the voxels whose label is one of <paramref name="Labels"/>.</summary>
/// <param name="Name">The region's name (e.g. "WT").</param>
/// <param name="Labels">The labels that make the region, at least one, each 1 … 255.</param>
public sealed record DiceRegion(string Name, IReadOnlyList<int> Labels)
{
    /// <summary>
    /// The BraTS regions in the label map of MSD Task01_BrainTumour (0 background, 1 edema,
    /// 2 non-enhancing tumour, 3 enhancing tumour): whole tumour WT = {1, 2, 3}, tumour core
    /// TC = {2, 3}, enhancing tumour ET = {3}. (NVIDIA's nnUNet scores BraTS 2021, whose label map
    /// differs: there TC = {1, 3}; pass its own regions for such data.)
    /// </summary>
    public static IReadOnlyList<DiceRegion> MsdBrainTumour { get; } =
    [
        new("WT", [1, 2, 3]),
        new("TC", [2, 3]),
        new("ET", [3]),
    ];

    /// <summary>Whether <paramref name="label"/> belongs to the region.</summary>
    public bool Contains(int label) => Labels.Contains(label);
}
