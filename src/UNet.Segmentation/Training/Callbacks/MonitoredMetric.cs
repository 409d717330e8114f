namespace UNet.Segmentation.Training.Callbacks;

/// <summary>A validation metric that <see cref="EarlyStopping"/> and <see cref="KeepBest"/> watch: its name, how to read it and which way is better.</summary>
/// <param name="Name">The name used in logs, checkpoint metadata and the CLI (e.g. <c>dice</c>).</param>
/// <param name="Read">Reads it from an evaluation.</param>
/// <param name="HigherIsBetter">True for scores, false for losses.</param>
public sealed record MonitoredMetric(string Name, Func<SegmentationMetrics, double> Read, bool HigherIsBetter)
{
    /// <summary>The reference's DICE (soft, both classes), higher is better: the default.</summary>
    public static MonitoredMetric Dice { get; } = new("dice", m => m.ReferenceDice, true);

    /// <summary>Hard Dice of the argmax prediction, mean over classes; higher is better.</summary>
    public static MonitoredMetric HardDice { get; } = new("hard_dice", m => m.HardMeanDice, true);

    /// <summary>Mean intersection over union; higher is better.</summary>
    public static MonitoredMetric MeanIoU { get; } = new("mean_iou", m => m.MeanIoU, true);

    /// <summary>Pixel accuracy; higher is better.</summary>
    public static MonitoredMetric PixelAccuracy { get; } = new("accuracy", m => m.PixelAccuracy, true);

    /// <summary>The reference's evaluation loss (cross-entropy + Dice loss); lower is better.</summary>
    public static MonitoredMetric Loss { get; } = new("loss", m => m.TotalLoss, false);

    /// <summary>The built-in metrics, by <see cref="Name"/>.</summary>
    public static IReadOnlyList<MonitoredMetric> BuiltIn { get; } = [Dice, HardDice, MeanIoU, PixelAccuracy, Loss];

    /// <summary>The built-in metric called <paramref name="name"/> (case-insensitive), or an <see cref="ArgumentException"/> listing the names.</summary>
    public static MonitoredMetric Parse(string name) =>
        BuiltIn.FirstOrDefault(m => string.Equals(m.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"unknown metric '{name}': use one of {string.Join(", ", BuiltIn.Select(m => m.Name))}", nameof(name));

    /// <summary>True when <paramref name="value"/> beats <paramref name="best"/> by more than <paramref name="minDelta"/> (NaN never improves; any number beats a NaN best).</summary>
    public bool Improves(double value, double best, double minDelta = 0)
    {
        if (double.IsNaN(value)) return false;
        if (double.IsNaN(best)) return true;
        return HigherIsBetter ? value > best + minDelta : value < best - minDelta;
    }
}
