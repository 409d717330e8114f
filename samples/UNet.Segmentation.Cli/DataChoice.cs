using System.Globalization;
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

    /// <summary>
    /// --fold's value: a fold 0..4, or null for "none" in any case (the reference writes None):
    /// every item trains, none validates.
    /// </summary>
    public static int? ParseFold(string text)
    {
        if (string.Equals(text.Trim(), FoldSplit.NoneName, StringComparison.OrdinalIgnoreCase)) return null;
        if (!int.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowLeadingWhite | NumberStyles.AllowTrailingWhite, CultureInfo.InvariantCulture, out int fold))
            throw new ArgumentException($"--fold must be a fold 0..4, or none to train on every slice (got '{text}')");
        if (fold is < 0 or > 4) throw new ArgumentException($"--fold must lie in 0..4 (got {fold}), or be none to train on every slice");
        return fold;
    }

    /// <summary>
    /// --fold none leaves nothing to evaluate: the evaluate modes, and the flags that evaluate during
    /// training, are refused in one line naming them.
    /// </summary>
    public static void RefuseWithoutValidation(string mode, int evaluateEvery, int patience, bool keepBest, bool challengeScores)
    {
        if (mode is "evaluate" or "train_and_evaluate")
            throw new ArgumentException($"--fold none trains on every slice and leaves none to evaluate on: --exec-mode {mode} needs a fold 0..4");
        var flags = new List<string>();
        if (evaluateEvery > 0) flags.Add("--evaluate-every");
        if (patience > 0) flags.Add("--early-stopping-patience");
        if (keepBest) flags.Add("--keep-best");
        if (challengeScores) flags.Add("--challenge-scores");
        if (flags.Count > 0)
            throw new ArgumentException($"{string.Join(", ", flags)} {(flags.Count == 1 ? "needs" : "need")} validation slices, and --fold none leaves none: drop {(flags.Count == 1 ? "it" : "them")} or give a fold 0..4");
    }

    /// <summary>The split of <paramref name="fold"/> (the reference's), or every item with none.</summary>
    public static FoldSplit Split(SegmentationData data, int? fold) => fold is { } k ? data.Fold(k) : data.AllItems();

    /// <summary>The summary row of a split.</summary>
    public static string Describe(FoldSplit split) => split.IsAll
        ? $"none: all {split.Training.Count} items train, none validates"
        : $"{split.Fold}: {split.Training.Count} items train, {split.Validation.Count} validate";

    public static string Describe(SegmentationData data) => data switch
    {
        IsbiDataset isbi => $"{isbi.Source}: {isbi.TrainSlices} training slices of {isbi.Width}x{isbi.Height}",
        FolderDataset folder => $"{folder.Source}: {folder.Count} images ({(folder.ImageChannels == 1 ? "grey" : "RGB")}), {folder.Classes} classes, {folder.TestFiles.Count} test images",
        _ => data.Source,
    };
}
