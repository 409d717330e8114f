using System.Text.Json;
using ScottPlot;
using SkiaSharp;
using UNet.Segmentation.Imaging;

namespace UNet.Segmentation.Training.Callbacks;

/// <summary>
/// Draws the training curves of a metrics file (<see cref="TrainerBuilder"/>'s JSON lines) as one
/// PNG with ScottPlot, at the end of every fit (completed, stopped early, cancelled or failed):
/// training loss and Dice, the validation metrics, and the learning rate, each against the step.
/// The whole file is drawn, so a resumed run shows every fit that appended to it.
/// </summary>
public sealed class TrainingCurves : ITrainingCallback
{
    /// <summary>Draws <paramref name="metricsFile"/> into <paramref name="pngPath"/> at the end of each fit.</summary>
    public TrainingCurves(string pngPath, string metricsFile)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(pngPath);
        ArgumentException.ThrowIfNullOrWhiteSpace(metricsFile);
        (PngPath, MetricsFile) = (pngPath, metricsFile);
    }

    /// <summary>The picture written.</summary>
    public string PngPath { get; }

    /// <summary>The metrics file read.</summary>
    public string MetricsFile { get; }

    /// <inheritdoc />
    /// <remarks>
    /// A fit that logged no step (fewer steps than its log interval, as the reference's
    /// <c>--log_every 100</c> with a short <c>--max_steps</c>) leaves nothing to draw: no PNG, and no
    /// error that would fail a run whose training succeeded.
    /// </remarks>
    public void OnFitEnd(TrainingContext context, FitSummary summary)
    {
        if (!File.Exists(MetricsFile) || File.ReadLines(MetricsFile).All(string.IsNullOrWhiteSpace)) return;
        Plot(MetricsFile, PngPath);
    }

    /// <summary>
    /// Draws <paramref name="metricsFile"/> as a <paramref name="width"/>×<paramref name="height"/>
    /// PNG at <paramref name="pngPath"/>, written atomically (a temporary file renamed over it).
    /// For a step logged twice (a resumed run repeats the steps after its checkpoint) the later
    /// record counts.
    /// </summary>
    /// <exception cref="FileNotFoundException">The metrics file does not exist.</exception>
    /// <exception cref="InvalidDataException">A line is not a JSON object with a numeric <c>step</c> (the message names the file and line), or the file holds no records.</exception>
    public static void Plot(string metricsFile, string pngPath, int width = 1200, int height = 900)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(metricsFile);
        ArgumentException.ThrowIfNullOrWhiteSpace(pngPath);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 100);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 150);
        var (train, eval) = Read(metricsFile);

        int rowHeight = height / 3;
        byte[][] rows =
        [
            Draw(width, rowHeight, "Training", "loss", "Dice", plot =>
            {
                Line(plot, train, "loss", "loss", right: false);
                Line(plot, train, "dice", "Dice", right: true);
            }),
            Draw(width, rowHeight, "Validation", "score", "cross-entropy", plot =>
            {
                Line(plot, eval, "dice", "Dice", right: false);
                Line(plot, eval, "hard_dice", "hard Dice", right: false);
                Line(plot, eval, "iou", "mean IoU", right: false);
                Line(plot, eval, "accuracy", "pixel accuracy", right: false);
                Line(plot, eval, "cross_entropy", "cross-entropy", right: true);
            }),
            Draw(width, height - 2 * rowHeight, "Learning rate", "learning rate", null, plot => Line(plot, train, "learning_rate", "learning rate", right: false)),
        ];

        using var surface = SKSurface.Create(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        surface.Canvas.Clear(SKColors.White);
        int y = 0;
        foreach (var png in rows)
        {
            using var bitmap = SKBitmap.Decode(png);
            surface.Canvas.DrawBitmap(bitmap, 0, y);
            y += bitmap.Height;
        }
        using var image = surface.Snapshot();
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        string? folder = Path.GetDirectoryName(Path.GetFullPath(pngPath));
        if (folder is not null) Directory.CreateDirectory(folder);
        using var file = AtomicFile.Begin(pngPath);
        data.SaveTo(file.Stream);
        file.Commit();
    }

    private static byte[] Draw(int width, int height, string title, string leftLabel, string? rightLabel, Action<ScottPlot.Plot> add)
    {
        var plot = new ScottPlot.Plot();
        add(plot);
        plot.Title(title);
        plot.XLabel("step");
        plot.YLabel(leftLabel);
        if (rightLabel is not null) plot.Axes.Right.Label.Text = rightLabel;
        plot.ShowLegend(Alignment.UpperRight);
        return plot.GetImageBytes(width, height, ImageFormat.Png);
    }

    private static void Line(ScottPlot.Plot plot, SortedDictionary<long, Dictionary<string, double>> records, string key, string label, bool right)
    {
        var points = records.Where(r => r.Value.TryGetValue(key, out double v) && double.IsFinite(v)).Select(r => (X: (double)r.Key, Y: r.Value[key])).ToArray();
        if (points.Length == 0) return;
        var scatter = plot.Add.Scatter(points.Select(p => p.X).ToArray(), points.Select(p => p.Y).ToArray());
        scatter.LegendText = label;
        scatter.MarkerSize = points.Length == 1 ? 5 : 0;
        if (right) scatter.Axes.YAxis = plot.Axes.Right;
    }

    /// <summary>The train and eval records by step (a later record of the same step replaces an earlier one).</summary>
    private static (SortedDictionary<long, Dictionary<string, double>> Train, SortedDictionary<long, Dictionary<string, double>> Eval) Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"metrics file {path} does not exist", path);
        var train = new SortedDictionary<long, Dictionary<string, double>>();
        var eval = new SortedDictionary<long, Dictionary<string, double>>();
        int number = 0, records = 0;
        foreach (string line in File.ReadLines(path))
        {
            number++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            JsonElement root;
            try
            {
                using var document = JsonDocument.Parse(line);
                root = document.RootElement.Clone();
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"{path}, line {number}: not JSON ({e.Message})", e);
            }
            if (root.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{path}, line {number}: not a JSON object");
            if (!root.TryGetProperty("step", out var stepElement) || stepElement.ValueKind != JsonValueKind.Number || !stepElement.TryGetInt64(out long step))
                throw new InvalidDataException($"{path}, line {number}: the record has no step");
            records++;
            string? kind = root.TryGetProperty("kind", out var k) && k.ValueKind == JsonValueKind.String ? k.GetString() : null;
            if (kind == "train")
            {
                var values = new Dictionary<string, double>();
                foreach (string key in (string[])["loss", "dice", "learning_rate"])
                    if (Number(root, key) is { } v) values[key] = v;
                train[step] = values;
            }
            else if (kind == "eval" && root.TryGetProperty("metrics", out var m) && m.ValueKind == JsonValueKind.Object)
            {
                var values = new Dictionary<string, double>();
                if (Number(m, "soft_dice_loss") is { } soft) values["dice"] = 1 - soft;
                if (Number(m, "hard_mean_dice") is { } hard) values["hard_dice"] = hard;
                if ((Number(m, "mean_io_u") ?? Number(m, "mean_iou")) is { } iou) values["iou"] = iou;
                if (Number(m, "pixel_accuracy") is { } accuracy) values["accuracy"] = accuracy;
                if (Number(m, "cross_entropy") is { } ce) values["cross_entropy"] = ce;
                eval[step] = values;
            }
        }
        if (records == 0) throw new InvalidDataException($"{path} holds no records");
        return (train, eval);
    }

    private static double? Number(JsonElement element, string name) =>
        element.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;

}
