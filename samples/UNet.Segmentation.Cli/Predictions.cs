using System.Diagnostics;
using Spectre.Console;
using UNet.Segmentation.Data;
using UNet.Segmentation.Imaging;
using UNet.Segmentation.Inference;
using UNet.Segmentation.Model;

namespace UNet.Segmentation.Cli;

/// <summary>The predict modes' outputs: the ISBI test volume (probability and mask TIFFs, overlays) or a folder's test/ images.</summary>
internal static class Predictions
{
    /// <summary>Predicts the test volume (or, without --data-dir, the synthetic test slices) into &lt;model-dir&gt;/predictions.</summary>
    public static IEnumerable<(string, string)> IsbiVolume(UNetModel model, IsbiDataset data, DirectoryInfo? dataDir, string modelDir, PredictorOptions options)
    {
        string predictions = Path.Combine(modelDir, "predictions");
        Directory.CreateDirectory(predictions);
        string input = dataDir is not null ? Path.Combine(dataDir.FullName, "test-volume.tif") : Path.Combine(predictions, "synthetic-test-volume.tif");
        if (dataDir is null) Tiff.Write(input, new TiffVolume(data.TestSlices, data.Height, data.Width, data.TestImages.ToArray()));
        if (!File.Exists(input)) throw new ArgumentException($"{input} does not exist: predict needs the test volume");
        using var predictor = new Predictor(model, options);
        PredictionResult result = null!;
        AnsiConsole.Progress().Start(ctx =>
        {
            var task = ctx.AddTask("predicting test slices", maxValue: data.TestSlices > 0 ? data.TestSlices : 1);
            result = predictor.PredictVolume(input, Path.Combine(predictions, "test-probabilities.tif"), Path.Combine(predictions, "test-masks.tif"),
                Path.Combine(predictions, "overlays"), new Progress<int>(done => task.Value = done));
            task.Value = task.MaxValue;
        });
        return [("prediction", $"{result.PageCount} pages of {result.Width}x{result.Height} in {result.Elapsed.TotalSeconds:F1} s, interior {result.InteriorFraction:P1}"),
                ("probabilities", result.ProbabilitiesPath), ("masks", result.MasksPath ?? "-"), ("overlays", $"{result.OverlayPaths.Count} PNGs in {Path.Combine(predictions, "overlays")}")];
    }

    /// <summary>Predicts every image of the folder's test/ with the sliding window into &lt;model-dir&gt;/predictions.</summary>
    public static IEnumerable<(string, string)> Folder(UNetModel model, FolderDataset data, string modelDir, PredictorOptions options)
    {
        string predictions = Path.Combine(modelDir, "predictions");
        if (data.TestFiles.Count == 0) return [("prediction", $"no test/ folder in {data.Source}: nothing to predict")];
        using var predictor = new Predictor(model, options);
        var clock = Stopwatch.StartNew();
        var results = new List<ImageFilePrediction>();
        AnsiConsole.Progress().Start(ctx =>
        {
            var task = ctx.AddTask("predicting test images", maxValue: data.TestFiles.Count);
            foreach (var file in data.TestFiles)
            {
                results.Add(predictor.PredictImageFile(file, predictions));
                task.Increment(1);
            }
        });
        var shares = Enumerable.Range(0, data.Classes).Select(k => results.Average(r => r.ClassShares[k]));
        return [("prediction", $"{results.Count} images in {clock.Elapsed.TotalSeconds:F1} s; class shares {string.Join(", ", shares.Select(s => s.ToString("P1", System.Globalization.CultureInfo.InvariantCulture)))}"),
                ("outputs", $"{predictions}: N-mask.png (class index), N-overlay.png, N-probabilities.tif ({data.Classes} float32 pages)")];
    }
}
