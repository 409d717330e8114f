using UNet.Segmentation.Data;

namespace UNet.Segmentation.Cli;

/// <summary>Which data a run uses: --data-dir's layout (your own folder or the ISBI files) or the synthetic default.</summary>
internal static class DataChoice
{
    /// <summary>
    /// The data of --data-dir: a folder with images/ and masks/ (<see cref="FolderDataset"/>, --classes
    /// classes), the ISBI files (2 classes), or without --data-dir the synthetic EM slices.
    /// </summary>
    public static SegmentationData Load(DirectoryInfo? dataDir, int classes)
    {
        if (classes is < 2 or > 256) throw new ArgumentException($"--classes must lie in 2..256 (got {classes})");
        if (dataDir is not null && FolderDataset.HasLayout(dataDir.FullName)) return FolderDataset.Load(dataDir.FullName, classes);
        if (classes != 2)
            throw new ArgumentException($"--classes {classes}: the ISBI data (and the synthetic default) has 2 classes; give a --data-dir with images/ and masks/ for more");
        if (dataDir is null) return IsbiDataset.Synthetic();
        if (!File.Exists(Path.Combine(dataDir.FullName, new IsbiFileNames().TrainVolume)))
            throw new ArgumentException($"--data-dir {dataDir.FullName} holds neither images/ and masks/ (your own data) nor train-volume.tif and train-labels.tif (the ISBI layout)");
        return IsbiDataset.Load(dataDir.FullName);
    }

    public static string Describe(SegmentationData data) => data switch
    {
        IsbiDataset isbi => $"{isbi.Source}: {isbi.TrainSlices} training slices of {isbi.Width}x{isbi.Height}",
        FolderDataset folder => $"{folder.Source}: {folder.Count} images ({(folder.ImageChannels == 1 ? "grey" : "RGB")}), {folder.Classes} classes, {folder.TestFiles.Count} test images",
        _ => data.Source,
    };
}
