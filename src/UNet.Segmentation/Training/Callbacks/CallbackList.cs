using System.Runtime.ExceptionServices;

namespace UNet.Segmentation.Training.Callbacks;

/// <summary>
/// Calls the fit's callbacks in order, each on the ranks it asks for. The first exception a
/// callback throws is kept (the later callbacks of that event still run, so the trainer's own
/// bookkeeping is never skipped) and ends the fit; <see cref="ThrowIfFailed"/> rethrows it.
/// </summary>
internal sealed class CallbackList(IReadOnlyList<ITrainingCallback> callbacks, bool isMainRank)
{
    private readonly ITrainingCallback[] _active = callbacks.Where(c => isMainRank || c.OnEveryRank).ToArray();

    public ExceptionDispatchInfo? Failure { get; private set; }

    public void FitStart(TrainingContext context) => Each(c => c.OnFitStart(context));

    public void StepEnd(TrainingContext context, TrainingStep step) => Each(c => c.OnStepEnd(context, step));

    public void EvaluationEnd(TrainingContext context, EvaluationRecord evaluation) => Each(c => c.OnEvaluationEnd(context, evaluation));

    public void CheckpointSaved(TrainingContext context, CheckpointRecord checkpoint) => Each(c => c.OnCheckpointSaved(context, checkpoint));

    public void FitEnd(TrainingContext context, FitSummary summary) => Each(c => c.OnFitEnd(context, summary));

    public void ThrowIfFailed() => Failure?.Throw();

    private void Each(Action<ITrainingCallback> call)
    {
        foreach (var c in _active)
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
