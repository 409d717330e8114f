namespace UNet.Segmentation.Training.Callbacks;

/// <summary>
/// Hooks into <see cref="Trainer.Fit(UNet.Segmentation.Data.SegmentationData, UNet.Segmentation.Data.FoldSplit, bool, System.Threading.CancellationToken)"/>, as Keras callbacks, Lightning's <c>Callback</c> and
/// MONAI's handlers do: implement the methods you need (the others do nothing) and add the
/// callback with <see cref="TrainerBuilder.WithCallback"/>. The trainer's own logging,
/// metrics file, evaluation schedule and checkpoints are callbacks of this interface too, and run
/// before yours in that order. Every method runs on the training thread between steps; a
/// callback runs on rank 0 only unless <see cref="OnEveryRank"/> is true. An exception thrown by
/// a callback stops the fit: the checkpoint of the last finished step is written (when a
/// checkpoint folder is set), then <see cref="Trainer.Fit(UNet.Segmentation.Data.SegmentationData, UNet.Segmentation.Data.FoldSplit, bool, System.Threading.CancellationToken)"/> rethrows it.
/// </summary>
public interface ITrainingCallback
{
    /// <summary>True to run on every data-parallel rank; false (the default) for rank 0 only.</summary>
    bool OnEveryRank => false;

    /// <summary>Once, after any resume, before the first step of this fit.</summary>
    void OnFitStart(TrainingContext context) { }

    /// <summary>After every optimizer step (also a step the loss scaler skipped).</summary>
    void OnStepEnd(TrainingContext context, TrainingStep step) { }

    /// <summary>After every evaluation on the validation slices (every metric, per class).</summary>
    void OnEvaluationEnd(TrainingContext context, EvaluationRecord evaluation) { }

    /// <summary>After a checkpoint is safely on disk (also the final and the cancellation checkpoint).</summary>
    void OnCheckpointSaved(TrainingContext context, CheckpointRecord checkpoint) { }

    /// <summary>Once at the end: completed, stopped early, cancelled, or stopped by a callback's exception (then before it is rethrown).</summary>
    void OnFitEnd(TrainingContext context, FitSummary summary) { }
}
