using Microsoft.Extensions.Logging;

namespace UNet.Segmentation.Training.Callbacks;

/// <summary>The trainer's log lines: every logged step, evaluation and checkpoint, and how the fit ended.</summary>
internal sealed class LoggingCallback(ILogger logger) : ITrainingCallback
{
    public void OnStepEnd(TrainingContext context, TrainingStep step)
    {
        if (step.Logged is not { } r) return;
        // The time left at the logged throughput: steps to go × images per step / images per second.
        double seconds = (step.MaxSteps - r.Step) * context.Options.BatchSize * context.WorldSize / Math.Max(r.ImagesPerSecond, 1e-9);
        logger.LogInformation("step {Step}/{MaxSteps} loss {Loss:F4} dice {Dice:F4} lr {LearningRate:G3} {ImagesPerSecond:F2} img/s scale {Scale} ETA {Eta}",
            r.Step, step.MaxSteps, r.Loss, r.Dice, r.LearningRate, r.ImagesPerSecond, r.LossScale, Eta(seconds));
    }

    /// <summary>h:mm:ss, or "?" before the throughput is known.</summary>
    internal static string Eta(double seconds) =>
        double.IsFinite(seconds) && seconds < 1e7 ? TimeSpan.FromSeconds(Math.Round(seconds)).ToString(@"h\:mm\:ss", System.Globalization.CultureInfo.InvariantCulture) : "?";

    public void OnEvaluationEnd(TrainingContext context, EvaluationRecord evaluation)
    {
        if (evaluation.Scores is { Thinned: { } thinned } withThinned)
            logger.LogInformation("evaluation at step {Step}: {Metrics} | {Scores} | {Thinned}", evaluation.Step, evaluation.Metrics, withThinned, thinned);
        else if (evaluation.Scores is { } s) logger.LogInformation("evaluation at step {Step}: {Metrics} | {Scores}", evaluation.Step, evaluation.Metrics, s);
        else logger.LogInformation("evaluation at step {Step}: {Metrics}", evaluation.Step, evaluation.Metrics);
    }

    public void OnCheckpointSaved(TrainingContext context, CheckpointRecord checkpoint) =>
        logger.LogInformation("checkpoint {Path}", checkpoint.Path);

    public void OnFitEnd(TrainingContext context, FitSummary summary)
    {
        if (summary.StopReason is { } reason) logger.LogInformation("stopped at step {Step}: {Reason}", summary.Steps, reason);
        if (summary.Cancelled) logger.LogInformation("cancelled at step {Step}", summary.Steps);
    }
}

/// <summary>
/// The metrics file: one JSON line per logged step ("train") and per evaluation ("eval"); an
/// evaluation with the challenge's scores adds "scores", the official thinned ones among them
/// (<c>v_rand_thinned</c>, …; null when a validation slice has no interior label).
/// </summary>
internal sealed class MetricsFileCallback(string path) : ITrainingCallback, IDisposable
{
    private MetricsLog? _log;

    public void OnFitStart(TrainingContext context) => _log ??= new MetricsLog(path);

    public void OnStepEnd(TrainingContext context, TrainingStep step)
    {
        if (step.Logged is { } r)
            _log?.Write("train", new { r.Step, r.Loss, r.Dice, r.LearningRate, r.ImagesPerSecond, r.LossScale, r.Skipped });
    }

    public void OnEvaluationEnd(TrainingContext context, EvaluationRecord evaluation)
    {
        if (evaluation.Scores is { } s)
        {
            var t = s.Thinned;
            _log?.Write("eval", new
            {
                evaluation.Step,
                evaluation.Metrics,
                Scores = new
                {
                    s.VRand, s.VInfo, s.VRandAt05, s.VInfoAt05, s.BestRandThreshold, s.BestInfoThreshold,
                    VRandThinned = t?.VRand, VInfoThinned = t?.VInfo, VRandThinnedAt05 = t?.VRandAt05, VInfoThinnedAt05 = t?.VInfoAt05,
                    BestRandThinnedThreshold = t?.BestRandThreshold, BestInfoThinnedThreshold = t?.BestInfoThreshold,
                },
            });
        }
        else
            _log?.Write("eval", new { evaluation.Step, evaluation.Metrics });
    }

    public void Dispose()
    {
        _log?.Dispose();
        _log = null;
    }
}

/// <summary>Evaluates every <see cref="TrainerOptions.EvaluateEvery"/> steps, and at the end of a fit that was not cancelled nor failed (unless its last step was just evaluated).</summary>
internal sealed class EvaluationScheduleCallback : ITrainingCallback
{
    public void OnStepEnd(TrainingContext context, TrainingStep step)
    {
        int every = context.Options.EvaluateEvery;
        if (every > 0 && step.Step % every == 0 && step.Step < step.MaxSteps && context.Fold.Validation.Count > 0) context.Evaluate();
    }

    public void OnFitEnd(TrainingContext context, FitSummary summary)
    {
        if (!summary.Cancelled && summary.Error is null && context.Fold.Validation.Count > 0 && context.Evaluations.LastOrDefault()?.Step != context.Step)
            context.Evaluate();
    }
}

/// <summary>Writes a checkpoint every <see cref="TrainerOptions.CheckpointEvery"/> steps, and one of the last step at the end whatever ended the fit.</summary>
internal sealed class CheckpointScheduleCallback : ITrainingCallback
{
    public void OnStepEnd(TrainingContext context, TrainingStep step)
    {
        if (step.Step % context.Options.CheckpointEvery == 0) context.SaveCheckpoint(CheckpointKind.Periodic);
    }

    public void OnFitEnd(TrainingContext context, FitSummary summary)
    {
        if (context.LastCheckpointStep != context.Step) context.SaveCheckpoint(CheckpointKind.Final);
    }
}
