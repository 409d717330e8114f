using System.Text.Json;
using UNet.Segmentation.Data;
using UNet.Segmentation.Imaging;
using UNet.Segmentation.Inference;
using UNet.Segmentation.Scoring;

namespace UNet.Segmentation.Training;

/// <summary>
/// The whole validation record of a model on a fold, as <see cref="Evaluator.Report"/> writes it
/// into a folder: <c>metrics.json</c> (the validation metrics, and for ISBI data the map Dice and
/// the challenge's V_rand and V_info, without and after border thinning), and for ISBI data <c>validation/probabilities.tif</c> and
/// <c>validation/labels.tif</c>, the held-out slices' full-resolution interior probabilities and
/// their labels, so that <c>unet score</c> (or anyone) can score them again.
/// </summary>
/// <param name="Metrics">The pipeline's metrics (DICE, per-class Dice, IoU, accuracy, cross-entropy).</param>
/// <param name="MapDice">The hard Dice of the full-resolution maps at 0.5 (ISBI data), or null.</param>
/// <param name="Scores">The challenge's V_rand and V_info over thresholds (ISBI data), with the official thinned ones in <see cref="ChallengeScoreReport.Thinned"/>, or null.</param>
/// <param name="ProbabilitiesPath">The validation probabilities TIFF (ISBI data), or null.</param>
/// <param name="LabelsPath">The validation labels TIFF (ISBI data), or null.</param>
/// <param name="MetricsPath">The metrics.json written.</param>
public sealed record ValidationReport(SegmentationMetrics Metrics, double? MapDice, ChallengeScoreReport? Scores, string? ProbabilitiesPath, string? LabelsPath, string MetricsPath)
{
    /// <summary>
    /// The hard Dice of full-resolution maps thresholded at 0.5 (interior: P &gt; 0.5; labels: L &gt; 127),
    /// mean of membrane and interior: how the predictor's options (tiling, TTA) change the overlap,
    /// which the training pipeline's DICE (on its output-size labels) does not see.
    /// </summary>
    public static double MapDiceOf(ReadOnlySpan<float> probabilities, ReadOnlySpan<byte> labels)
    {
        if (probabilities.Length != labels.Length) throw new ArgumentException($"{probabilities.Length} probabilities for {labels.Length} labels", nameof(labels));
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

    /// <summary>Writes the report of <paramref name="metrics"/> (and, for ISBI data, the full-resolution maps predicted with <paramref name="predictorOptions"/>) into <paramref name="directory"/>.</summary>
    internal static ValidationReport Write(Evaluator evaluator, SegmentationData data, FoldSplit split, SegmentationMetrics metrics, PredictorOptions predictorOptions, string directory, long? steps)
    {
        Directory.CreateDirectory(directory);
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
        double? mapDice = null;
        ChallengeScoreReport? scores = null;
        string? pPath = null, lPath = null;
        if (data is IsbiDataset isbi && split.Validation.Count > 0)
        {
            var (probabilities, labels) = evaluator.ValidationMaps(isbi, split.Validation, predictorOptions);
            int n = split.Validation.Count;
            string dir = Path.Combine(directory, "validation");
            Directory.CreateDirectory(dir);
            (pPath, lPath) = (Path.Combine(dir, "probabilities.tif"), Path.Combine(dir, "labels.tif"));
            Tiff.Write(pPath, new TiffVolume(n, isbi.Height, isbi.Width, probabilities));
            Tiff.Write(lPath, new TiffVolume(n, isbi.Height, isbi.Width, labels), TiffCompression.Deflate);
            scores = ChallengeScores.Compute(probabilities, labels, n, isbi.Height, isbi.Width);
            mapDice = MapDiceOf(probabilities, labels);
            json["map_dice"] = mapDice;
            json["v_rand"] = scores.VRand;
            json["v_info"] = scores.VInfo;
            json["v_rand_at_0.5"] = scores.VRandAt05;
            json["v_info_at_0.5"] = scores.VInfoAt05;
            json["v_rand_threshold"] = scores.BestRandThreshold;
            json["v_info_threshold"] = scores.BestInfoThreshold;
            // The official scores after border thinning (null when a validation slice has no interior label).
            json["v_rand_thinned"] = scores.Thinned?.VRand;
            json["v_info_thinned"] = scores.Thinned?.VInfo;
            json["v_rand_thinned_at_0.5"] = scores.Thinned?.VRandAt05;
            json["v_info_thinned_at_0.5"] = scores.Thinned?.VInfoAt05;
            json["v_rand_thinned_threshold"] = scores.Thinned?.BestRandThreshold;
            json["v_info_thinned_threshold"] = scores.Thinned?.BestInfoThreshold;
            json["predictor"] = new { input = predictorOptions.Input.ToString(), overlap = predictorOptions.TileOverlap, flip_tta = predictorOptions.FlipTta };
            json["validation_probabilities"] = pPath;
            json["validation_labels"] = lPath;
        }
        string metricsPath = Path.Combine(directory, "metrics.json");
        // Whole or not at all: a temporary file renamed over the old one.
        string temporary = metricsPath + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(json, new JsonSerializerOptions { WriteIndented = true }));
        File.Move(temporary, metricsPath, overwrite: true);
        return new ValidationReport(metrics, mapDice, scores, pPath, lPath, metricsPath);
    }
}
