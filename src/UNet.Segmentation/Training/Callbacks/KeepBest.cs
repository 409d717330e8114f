using System.Globalization;
using UNet.Segmentation.Serialization;

namespace UNet.Segmentation.Training.Callbacks;

/// <summary>
/// Keeps the checkpoint with the best validation <see cref="Metric"/> as <c>best.safetensors</c>
/// beside the rolling step checkpoints (which keep-last never deletes): a full checkpoint whose
/// metadata adds <c>best_metric</c>, <c>best_value</c> and <c>best_step</c>, loadable with
/// <c>UNetModel.Load</c>. A resumed fit reads the kept file's value first, so a worse model never
/// replaces a better one. It needs evaluations during the fit (<see cref="TrainerOptions.EvaluateEvery"/>;
/// the final evaluation counts too).
/// </summary>
public sealed class KeepBest : ITrainingCallback
{
    /// <summary>The file name in the checkpoint folder.</summary>
    public const string FileName = "best.safetensors";

    /// <summary>Metadata keys of the kept checkpoint.</summary>
    public const string MetricKey = "best_metric", ValueKey = "best_value", StepKey = "best_step";

    private readonly string? _path;

    /// <summary>Watches <paramref name="metric"/> (default <see cref="MonitoredMetric.Dice"/>); <paramref name="path"/> null: <c>best.safetensors</c> in the checkpoint folder.</summary>
    public KeepBest(MonitoredMetric? metric = null, string? path = null)
    {
        if (path is not null) ArgumentException.ThrowIfNullOrWhiteSpace(path);
        (Metric, _path) = (metric ?? MonitoredMetric.Dice, path);
    }

    /// <summary>The watched metric.</summary>
    public MonitoredMetric Metric { get; }

    /// <summary>The kept checkpoint's path, once the fit has started.</summary>
    public string? Path { get; private set; }

    /// <summary>The best value kept so far (NaN: none).</summary>
    public double Best { get; private set; } = double.NaN;

    /// <summary>The step of the kept checkpoint, or -1.</summary>
    public long BestStep { get; private set; } = -1;

    /// <inheritdoc />
    public void OnFitStart(TrainingContext context)
    {
        Path = _path ?? (context.Options.CheckpointDirectory is { } dir ? System.IO.Path.Combine(dir, FileName)
            : throw new InvalidOperationException("KeepBest needs a checkpoint folder (TrainerBuilder.WithCheckpoints) or a path of its own"));
        (Best, BestStep) = (double.NaN, -1);
        if (!File.Exists(Path)) return;
        var (metadata, _) = Safetensors.ReadHeader(Path);
        // A kept model of another metric, or one without our keys, is replaced by the first evaluation.
        if (metadata.TryGetValue(MetricKey, out var name) && name == Metric.Name
            && metadata.TryGetValue(ValueKey, out var v) && double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double value)
            && metadata.TryGetValue(StepKey, out var s) && long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out long step))
            (Best, BestStep) = (value, step);
    }

    /// <inheritdoc />
    public void OnEvaluationEnd(TrainingContext context, EvaluationRecord evaluation)
    {
        double value = Metric.Read(evaluation.Metrics);
        if (!Metric.Improves(value, Best) || evaluation.Step == BestStep) return;
        var metadata = new Dictionary<string, string>
        {
            [MetricKey] = Metric.Name,
            [ValueKey] = value.ToString("R", CultureInfo.InvariantCulture),
            [StepKey] = evaluation.Step.ToString(CultureInfo.InvariantCulture),
        };
        context.SaveCheckpointAs(Path!, CheckpointKind.Best, metadata);
        (Best, BestStep) = (value, evaluation.Step);
    }
}
