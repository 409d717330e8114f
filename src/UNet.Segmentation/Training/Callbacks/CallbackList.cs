using System.Runtime.ExceptionServices;

namespace UNet.Segmentation.Training.Callbacks;

/// <summary>
/// Calls the fit's callbacks, each on the ranks it asks for. Observers (the log, the metrics file,
/// the user's callbacks) hear of a step before the schedules act on it (evaluate, checkpoint), so
/// "step N" comes before "evaluation at N"; at the end the schedules act first (last checkpoint,
/// final evaluation), so every observer's <see cref="ITrainingCallback.OnFitEnd"/> sees them.
/// The first exception a callback throws is kept (the other callbacks of that event still run,
/// so the trainer's own bookkeeping is never skipped; the schedules skip a failed step) and ends
/// the fit; <see cref="ThrowIfFailed"/> rethrows it.
/// </summary>
internal sealed class CallbackList(IReadOnlyList<ITrainingCallback> observers, IReadOnlyList<ITrainingCallback> schedules, bool isMainRank)
{
    private readonly ITrainingCallback[] _observers = observers.Where(c => isMainRank || c.OnEveryRank).ToArray();
    private readonly ITrainingCallback[] _schedules = schedules.Where(c => isMainRank || c.OnEveryRank).ToArray();

    public ExceptionDispatchInfo? Failure { get; private set; }

    public void FitStart(TrainingContext context) => Each(_observers, c => c.OnFitStart(context));

    public void StepEnd(TrainingContext context, TrainingStep step)
    {
        Each(_observers, c => c.OnStepEnd(context, step));
        if (Failure is null) Each(_schedules, c => c.OnStepEnd(context, step));
    }

    public void EvaluationEnd(TrainingContext context, EvaluationRecord evaluation) => Each(_observers, c => c.OnEvaluationEnd(context, evaluation));

    public void CheckpointSaved(TrainingContext context, CheckpointRecord checkpoint) => Each(_observers, c => c.OnCheckpointSaved(context, checkpoint));

    public void FitEnd(TrainingContext context, FitSummary summary)
    {
        Each(_schedules, c => c.OnFitEnd(context, summary));
        Each(_observers, c => c.OnFitEnd(context, summary));
    }

    public void ThrowIfFailed() => Failure?.Throw();

    private void Each(ITrainingCallback[] callbacks, Action<ITrainingCallback> call)
    {
        foreach (var c in callbacks)
        {
            try
            {
                call(c);
            }
            catch (Exception e)
            {
                Failure ??= ExceptionDispatchInfo.Capture(e);
            }
        }
    }
}
