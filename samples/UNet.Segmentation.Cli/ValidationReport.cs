using System.Globalization;
using System.Text.Json;
using UNet.Segmentation.Data;
using UNet.Segmentation.Imaging;
using UNet.Segmentation.Inference;
using UNet.Segmentation.Model;
using UNet.Segmentation.Training;

namespace UNet.Segmentation.Cli;

/// <summary>
/// What evaluate and train_and_evaluate leave in the model dir: <c>metrics.json</c> (the
/// validation metrics, and for ISBI data the challenge's V_rand and V_info) and, for ISBI data,
/// <c>validation/probabilities.tif</c> and <c>validation/labels.tif</c>, the held-out slices'
/// full-resolution interior probabilities and their labels, so that <c>unet score</c> (or anyone)
/// can score them again.
/// </summary>
internal static class ValidationReport
{
    public static IEnumerable<(string, string)> Write(UNetModel model, SegmentationData data, FoldSplit split, SegmentationMetrics metrics,
        PredictorOptions predictorOptions, string modelDir, long? steps)
    {
        Directory.CreateDirectory(modelDir);
        var json = new Dictionary<string, object?>
        {
            ["fold"] = split.Fold,
            ["validation_items"] = split.Validation,
            ["steps"] = steps,
            ["dice"] = metrics.ReferenceDice,
            ["hard_dice_per_class"] = metrics.HardDicePerClass,
            ["mean_iou"] = metrics.MeanIoU,
            ["pixel_accuracy"] = metrics.PixelAccuracy,
            ["cross_entropy"] = metrics.CrossEntropy,
        };
        var rows = new List<(string, string)>();
        if (data is IsbiDataset isbi && split.Validation.Count > 0)
        {
            using var predictor = new Predictor(model, predictorOptions);
            var probabilities = predictor.PredictTrainingSlices(isbi, split.Validation);
            int area = isbi.Height * isbi.Width, n = split.Validation.Count;
            var labels = new byte[n * area];
            for (int i = 0; i < n; i++) isbi.TrainLabels.Span.Slice(split.Validation[i] * area, area).CopyTo(labels.AsSpan(i * area));
            string dir = Path.Combine(modelDir, "validation");
            Directory.CreateDirectory(dir);
            string pPath = Path.Combine(dir, "probabilities.tif"), lPath = Path.Combine(dir, "labels.tif");
            Tiff.Write(pPath, new TiffVolume(n, isbi.Height, isbi.Width, probabilities));
            Tiff.Write(lPath, new TiffVolume(n, isbi.Height, isbi.Width, labels), TiffCompression.Deflate);
            var scores = ChallengeScores.Compute(probabilities, labels, n, isbi.Height, isbi.Width);
            double mapDice = MapDice(probabilities, labels);
            json["map_dice"] = mapDice;
            json["v_rand"] = scores.VRand;
            json["v_info"] = scores.VInfo;
            json["v_rand_at_0.5"] = scores.VRandAt05;
            json["v_info_at_0.5"] = scores.VInfoAt05;
            json["v_rand_threshold"] = scores.BestRandThreshold;
            json["v_info_threshold"] = scores.BestInfoThreshold;
            json["predictor"] = new { input = predictorOptions.Input.ToString(), overlap = predictorOptions.TileOverlap, flip_tta = predictorOptions.FlipTta };
            json["validation_probabilities"] = pPath;
            json["validation_labels"] = lPath;
            var inv = CultureInfo.InvariantCulture;
            rows.Add(("map Dice", string.Create(inv, $"{mapDice:F4} (the 512² maps at t 0.5, mean of both classes)")));
            rows.Add(("V_rand", string.Create(inv, $"{scores.VRand:F4} (best t {scores.BestRandThreshold:0.0}); {scores.VRandAt05:F4} at t 0.5")));
            rows.Add(("V_info", string.Create(inv, $"{scores.VInfo:F4} (best t {scores.BestInfoThreshold:0.0}); {scores.VInfoAt05:F4} at t 0.5")));
            rows.Add(("validation maps", $"{SummaryTable.Shorten(pPath)}, {SummaryTable.Shorten(lPath)}"));
            rows.Add(("score again", $"unet score --prediction {SummaryTable.Shorten(pPath)} --labels {SummaryTable.Shorten(lPath)}"));
        }
        string metricsPath = Path.Combine(modelDir, "metrics.json");
        // Whole or not at all: a temporary file renamed over the old one.
        string temporary = metricsPath + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(json, new JsonSerializerOptions { WriteIndented = true }));
        File.Move(temporary, metricsPath, overwrite: true);
        rows.Add(("metrics", SummaryTable.Shorten(metricsPath)));
        return rows;
    }

    /// <summary>
    /// The hard Dice of the full-resolution maps thresholded at 0.5 (interior: P &gt; 0.5; labels: L &gt; 127),
    /// mean of membrane and interior: how the predictor's options (tiling, TTA) change the overlap,
    /// which the training pipeline's DICE (on 388² labels) does not see.
    /// </summary>
    internal static double MapDice(ReadOnlySpan<float> probabilities, ReadOnlySpan<byte> labels)
    {
        long both = 0, predicted = 0, actual = 0, n = labels.Length;
        for (int i = 0; i < labels.Length; i++)
        {
            bool p = probabilities[i] > 0.5f, t = labels[i] > 127;
            if (p) predicted++;
            if (t) actual++;
            if (p && t) both++;
        }
        long neither = n - predicted - actual + both;
        double interior = predicted + actual == 0 ? 1 : 2.0 * both / (predicted + actual);
        double membrane = 2 * n - predicted - actual == 0 ? 1 : 2.0 * neither / (2 * n - predicted - actual);
        return (interior + membrane) / 2;
    }
}
