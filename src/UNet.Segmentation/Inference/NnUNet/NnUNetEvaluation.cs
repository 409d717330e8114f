using System.Text.Json;
using UNet.Segmentation.Data.Msd;
using UNet.Segmentation.Scoring;
using UNet.Segmentation.Training;

namespace UNet.Segmentation.Inference.NnUNet;

/// <summary>One evaluated case's scores.</summary>
/// <param name="Item">The case's index among the evaluated cases' source (the fold's numbering).</param>
/// <param name="ClassDice">The Dice of each foreground class, class 1 first (<see cref="VolumeDice.PerClass"/>).</param>
/// <param name="RegionDice">The Dice of each region of the evaluation, in its order (<see cref="VolumeDice.PerRegion"/>).</param>
public sealed record NnUNetCaseScores(int Item, IReadOnlyList<double> ClassDice, IReadOnlyList<double> RegionDice);

/// <summary>
/// Whole preprocessed cases predicted as <c>unet predict --model nnunet</c> predicts them
/// (<see cref="NnUNetSlidingWindow"/>: the Gaussian-blended sliding window, slice by slice for a 2-D
/// network, with or without mirroring) and scored against their labels, as NVIDIA's nnUNet scores
/// its validation cases: the Dice of each foreground class per case (empty truth and empty
/// prediction score 1, empty truth and a non-empty prediction 0), averaged over the cases, and the
/// same for named regions (<see cref="DiceRegion.MsdBrainTumour"/> for BraTS).
/// <see cref="Metrics"/> carries them for the training loop's log: <see cref="SegmentationMetrics.ReferenceDice"/>
/// is the mean of <see cref="ClassDice"/> (1 − <see cref="SegmentationMetrics.SoftDiceLoss"/>),
/// <see cref="SegmentationMetrics.CaseDicePerClass"/> and <see cref="SegmentationMetrics.RegionDice"/>
/// the per-class and per-region means, while <see cref="SegmentationMetrics.HardDicePerClass"/>,
/// IoU and accuracy count the voxels of all cases together (background included) and
/// <see cref="SegmentationMetrics.CrossEntropy"/> is the mean of −ln p(true class) over the voxels.
/// </summary>
/// <param name="Metrics">The metrics as the trainer logs them.</param>
/// <param name="ClassDice">Mean over the cases of each foreground class's Dice, class 1 first.</param>
/// <param name="Regions">The regions scored (empty when none).</param>
/// <param name="RegionDice">Mean over the cases of each region's Dice, in <paramref name="Regions"/>' order.</param>
/// <param name="Cases">Each case's scores, in the order evaluated.</param>
public sealed record NnUNetEvaluation(SegmentationMetrics Metrics, IReadOnlyList<double> ClassDice, IReadOnlyList<DiceRegion> Regions,
    IReadOnlyList<double> RegionDice, IReadOnlyList<NnUNetCaseScores> Cases)
{
    /// <summary>The regions of a task's labels: the BraTS regions when they are Task01_BrainTumour's four labels, else none.</summary>
    public static IReadOnlyList<DiceRegion> RegionsFor(IReadOnlyList<string> labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        return labels.Count == 4 && labels[1].Contains("edema", StringComparison.OrdinalIgnoreCase)
            && labels[3].Contains("enhancing", StringComparison.OrdinalIgnoreCase) ? DiceRegion.MsdBrainTumour : [];
    }

    /// <summary>
    /// Predicts and scores <paramref name="items"/> of <paramref name="cases"/> (preprocessed images
    /// C×D×H×W and labels 1×D×H×W of one shape) with <paramref name="window"/>.
    /// </summary>
    /// <exception cref="ArgumentException">No items, an item out of range, a case whose image and labels differ in shape, or a region without labels.</exception>
    public static NnUNetEvaluation Run(NnUNetSlidingWindow window, IReadOnlyList<(Volume<float> Image, Volume<byte> Labels)> cases, IReadOnlyList<int> items,
        int classes, IReadOnlyList<DiceRegion>? regions = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(window);
        ArgumentNullException.ThrowIfNull(cases);
        ArgumentNullException.ThrowIfNull(items);
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 2);
        if (items.Count == 0) throw new ArgumentException("no case to evaluate", nameof(items));
        regions ??= [];
        var hits = new long[classes, 3]; // true positives, predicted, actual
        long voxels = 0, correct = 0;
        double crossEntropy = 0;
        var scores = new List<NnUNetCaseScores>();
        foreach (int item in items)
        {
            cancellation.ThrowIfCancellationRequested();
            if (item < 0 || item >= cases.Count) throw new ArgumentException($"case {item} is not among the {cases.Count} cases", nameof(items));
            var (image, labels) = cases[item];
            if (image.Shape != labels.Shape) throw new ArgumentException($"case {item}: image {image.Shape} and labels {labels.Shape} differ in shape", nameof(cases));
            var probabilities = window.PredictProbabilities(image);
            var predicted = MsdPostprocessing.ArgMax(probabilities).Data;
            var truth = labels.Data;
            var p = probabilities.Data;
            long n = truth.Length;
            for (long i = 0; i < n; i++)
            {
                int t = truth[i], q = predicted[i];
                if (t >= classes) throw new ArgumentException($"case {item} has label {t}, beyond the {classes} classes", nameof(cases));
                crossEntropy -= Math.Log(Math.Max(p[t * n + i], 1e-12f));
                hits[q, 1]++;
                hits[t, 2]++;
                if (q == t)
                {
                    hits[t, 0]++;
                    correct++;
                }
            }
            voxels += n;
            scores.Add(new NnUNetCaseScores(item, VolumeDice.PerClass(predicted, truth, classes), VolumeDice.PerRegion(predicted, truth, regions)));
        }
        var classDice = Enumerable.Range(0, classes - 1).Select(c => scores.Average(s => s.ClassDice[c])).ToArray();
        var regionDice = Enumerable.Range(0, regions.Count).Select(r => scores.Average(s => s.RegionDice[r])).ToArray();
        var dice = Enumerable.Range(0, classes).Select(c => hits[c, 1] + hits[c, 2] == 0 ? 1.0 : 2.0 * hits[c, 0] / (hits[c, 1] + hits[c, 2])).ToArray();
        var iou = Enumerable.Range(0, classes).Select(c => hits[c, 1] + hits[c, 2] - hits[c, 0] == 0 ? 1.0 : (double)hits[c, 0] / (hits[c, 1] + hits[c, 2] - hits[c, 0])).ToArray();
        var metrics = new SegmentationMetrics(dice, dice.Average(), iou, iou.Average(), (double)correct / voxels, crossEntropy / voxels, 1 - classDice.Average(), scores.Count, voxels)
        {
            CaseDicePerClass = classDice,
            RegionDice = regions.Count == 0 ? null : regions.Select((r, k) => (r.Name, regionDice[k])).ToDictionary(x => x.Name, x => x.Item2),
        };
        return new NnUNetEvaluation(metrics, classDice, regions, regionDice, scores);
    }

    /// <summary>
    /// Writes <c>metrics.json</c> into <paramref name="directory"/> (whole or not at all): the fold,
    /// the steps trained, the validation cases, <c>dice</c> (the mean foreground Dice),
    /// <c>dice_per_class</c> and <c>regions</c> (means over the cases, by name), the voxel-count
    /// metrics, every case's scores and the predictor's options. Returns the file's path.
    /// </summary>
    /// <param name="directory">Created if missing.</param>
    /// <param name="fold">The fold, or null for none.</param>
    /// <param name="steps">The steps the model trained, or null when unknown.</param>
    /// <param name="ids">The identifiers of the cases the items index.</param>
    /// <param name="classNames">The names of every class, background first (the task's labels); null: "class c".</param>
    /// <param name="prediction">How the cases were predicted.</param>
    public string WriteMetrics(string directory, int? fold, long? steps, IReadOnlyList<string> ids, IReadOnlyList<string>? classNames, NnUNetPredictionOptions prediction)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentNullException.ThrowIfNull(prediction);
        string Name(int c) => classNames is not null && c < classNames.Count ? classNames[c] : $"class {c}";
        Dictionary<string, double> ByClass(IReadOnlyList<double> d) => d.Select((v, k) => (Name(k + 1), v)).ToDictionary(x => x.Item1, x => x.v);
        Dictionary<string, double> ByRegion(IReadOnlyList<double> d) => Regions.Select((r, k) => (r.Name, d[k])).ToDictionary(x => x.Name, x => x.Item2);
        string Id(int item) => item < ids.Count ? ids[item] : $"case {item}";
        var json = new Dictionary<string, object?>
        {
            ["fold"] = fold,
            ["steps"] = steps,
            ["validation_cases"] = Cases.Select(c => Id(c.Item)).ToArray(),
            ["dice"] = Metrics.ReferenceDice,
            ["dice_per_class"] = ByClass(ClassDice),
            ["regions"] = ByRegion(RegionDice),
            ["hard_dice_per_class"] = Metrics.HardDicePerClass,
            ["mean_iou"] = Metrics.MeanIoU,
            ["pixel_accuracy"] = Metrics.PixelAccuracy,
            ["cross_entropy"] = Metrics.CrossEntropy,
            ["cases"] = Cases.Select(c => new Dictionary<string, object> { ["id"] = Id(c.Item), ["dice_per_class"] = ByClass(c.ClassDice), ["regions"] = ByRegion(c.RegionDice) }).ToArray(),
            ["predictor"] = new Dictionary<string, object>
            {
                ["sliding_window_overlap"] = prediction.Overlap, ["gaussian"] = prediction.Gaussian, ["tta"] = prediction.TestTimeAugmentation, ["precision"] = prediction.Precision.ToString(),
            },
        };
        Directory.CreateDirectory(directory);
        string path = Path.Combine(directory, "metrics.json");
        string temporary = path + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(json, new JsonSerializerOptions { WriteIndented = true }));
        File.Move(temporary, path, overwrite: true);
        return path;
    }
}
