namespace UNet.Segmentation.Training;

/// <summary>One logged training step.</summary>
/// <param name="Step">Steps taken so far.</param>
/// <param name="Loss">The training loss of this step (the L2 term included).</param>
/// <param name="LearningRate">The learning rate used.</param>
/// <param name="ImagesPerSecond">Throughput since the previous record.</param>
/// <param name="LossScale">The loss scaler's scale (1 without float16).</param>
/// <param name="Skipped">True when the step was skipped for non-finite gradients.</param>
/// <param name="Dice">The soft Dice coefficient of the step's batch (NaN: not measured).</param>
public sealed record StepRecord(long Step, double Loss, double LearningRate, double ImagesPerSecond, double LossScale, bool Skipped, double Dice = double.NaN);

/// <summary>An evaluation on held-out slices.</summary>
/// <param name="Step">Training steps taken when it ran.</param>
/// <param name="Metrics">The metrics.</param>
/// <param name="Scores">The challenge's V_rand and V_info of the full-resolution maps, when <see cref="TrainerOptions.ChallengeScores"/> is on and the data is ISBI's; else null.</param>
public sealed record EvaluationRecord(long Step, SegmentationMetrics Metrics, Scoring.ChallengeScoreReport? Scores = null);

/// <summary>What <see cref="Trainer.Fit(UNet.Segmentation.Data.SegmentationData, UNet.Segmentation.Data.FoldSplit, bool, System.Threading.CancellationToken)"/> did.</summary>
/// <param name="Steps">Optimizer steps taken in all (a resumed run counts the earlier ones).</param>
/// <param name="Completed">False when cancelled or stopped early before <see cref="TrainerOptions.MaxSteps"/>.</param>
/// <param name="History">The logged steps.</param>
/// <param name="Evaluations">Every evaluation, the final one last.</param>
/// <param name="LastCheckpoint">The newest checkpoint written, or null.</param>
/// <param name="Elapsed">Wall time of this call.</param>
/// <param name="StopReason">Why a callback stopped the fit early (e.g. early stopping), or null.</param>
public sealed record TrainingResult(long Steps, bool Completed, IReadOnlyList<StepRecord> History, IReadOnlyList<EvaluationRecord> Evaluations, string? LastCheckpoint, TimeSpan Elapsed, string? StopReason = null)
{
    /// <summary>The last evaluation, or null.</summary>
    public EvaluationRecord? FinalEvaluation => Evaluations.Count > 0 ? Evaluations[^1] : null;
}
