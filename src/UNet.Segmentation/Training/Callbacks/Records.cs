namespace UNet.Segmentation.Training.Callbacks;

/// <summary>A checkpoint that was written.</summary>
/// <param name="Path">The file.</param>
/// <param name="Step">The steps it holds.</param>
/// <param name="Kind">Why it was written.</param>
public sealed record CheckpointRecord(string Path, long Step, CheckpointKind Kind);

/// <summary>Why a checkpoint was written.</summary>
public enum CheckpointKind
{
    /// <summary>The periodic checkpoint (every <see cref="TrainerOptions.CheckpointEvery"/> steps).</summary>
    Periodic,
    /// <summary>The checkpoint of the last step, at the end of the fit (also when cancelled or stopped).</summary>
    Final,
    /// <summary>The best model so far (<see cref="KeepBest"/>'s <c>best.safetensors</c>).</summary>
    Best,
}

/// <summary>How a fit ended, as <see cref="ITrainingCallback.OnFitEnd"/> sees it.</summary>
/// <param name="Steps">Optimizer steps taken in all (a resumed run counts the earlier ones).</param>
/// <param name="Completed">True when <see cref="Trainer.StepsPerRank"/> steps were reached.</param>
/// <param name="Cancelled">True when the cancellation token stopped it.</param>
/// <param name="StopReason">Why a callback stopped it early (<see cref="TrainingContext.RequestStop"/>), or null.</param>
/// <param name="Error">The callback exception that stopped it, or null.</param>
/// <param name="Elapsed">Wall time of this fit.</param>
public sealed record FitSummary(long Steps, bool Completed, bool Cancelled, string? StopReason, Exception? Error, TimeSpan Elapsed);
