using UNet.Segmentation.Data;
using UNet.Segmentation.Model;

namespace UNet.Segmentation.Training.Callbacks;

/// <summary>
/// One <see cref="Trainer.Fit(UNet.Segmentation.Data.SegmentationData, UNet.Segmentation.Data.FoldSplit, bool, System.Threading.CancellationToken)"/> as its callbacks see it: where it stands, what it has logged,
/// evaluated and saved, and the few things a callback may ask of it (stop, evaluate now, save a
/// checkpoint now). Valid during the fit; a callback may keep a reference but not use it after
/// <see cref="ITrainingCallback.OnFitEnd"/>.
/// </summary>
public sealed class TrainingContext
{
    private readonly List<StepRecord> _history = [];
    private readonly List<EvaluationRecord> _evaluations = [];
    private readonly CallbackList _callbacks;

    private readonly ITrainingData _data;

    internal TrainingContext(Trainer trainer, ITrainingData data, FoldSplit fold, CallbackList callbacks, CancellationToken cancellation)
    {
        (Trainer, _data, Fold, _callbacks, Cancellation) = (trainer, data, fold, callbacks, cancellation);
        MaxSteps = trainer.StepsPerRank;
    }

    /// <summary>The trainer running the fit.</summary>
    public Trainer Trainer { get; }

    /// <summary>The model being trained.</summary>
    public UNetModel Model => Trainer.Model;

    /// <summary>The trainer's options.</summary>
    public TrainerOptions Options => Trainer.Options;

    /// <summary>The data the fit draws from.</summary>
    /// <exception cref="InvalidOperationException">The fit is on MSD volumes (<see cref="MsdTrainingData"/>), not 2-D slices.</exception>
    public SegmentationData Data => _data is SegmentationTrainingData s ? s.Data : throw new InvalidOperationException("this fit trains on MSD volumes, not a SegmentationData");

    /// <summary>The training and validation slices.</summary>
    public FoldSplit Fold { get; }

    /// <summary>The fit's cancellation token.</summary>
    public CancellationToken Cancellation { get; }

    /// <summary>The step the fit started at (0, or the resumed checkpoint's).</summary>
    public long StartStep { get; internal set; }

    /// <summary>True when the fit resumed from a checkpoint.</summary>
    public bool Resumed { get; internal set; }

    /// <summary>The checkpoint it resumed from, or null.</summary>
    public string? ResumedFrom { get; internal set; }

    /// <summary>Steps taken so far.</summary>
    public long Step { get; internal set; }

    /// <summary>The step the fit ends at (<see cref="Trainer.StepsPerRank"/>).</summary>
    public long MaxSteps { get; }

    /// <summary>This process's data-parallel rank.</summary>
    public int Rank => Trainer.Rank;

    /// <summary>The number of data-parallel ranks.</summary>
    public int WorldSize => Trainer.WorldSize;

    /// <summary>True on rank 0, which evaluates and writes checkpoints.</summary>
    public bool IsMainRank => Trainer.IsMainRank;

    /// <summary>The logged steps so far (rank 0).</summary>
    public IReadOnlyList<StepRecord> History => _history;

    /// <summary>The evaluations so far (rank 0).</summary>
    public IReadOnlyList<EvaluationRecord> Evaluations => _evaluations;

    /// <summary>The newest step checkpoint written in this fit (or resumed from), or null.</summary>
    public string? LastCheckpoint { get; internal set; }

    /// <summary>The step of <see cref="LastCheckpoint"/> when this fit wrote it at this world size, else -1.</summary>
    public long LastCheckpointStep { get; internal set; } = -1;

    /// <summary>Why a callback asked the fit to stop, or null.</summary>
    public string? StopReason { get; private set; }

    /// <summary>
    /// Ends the fit after the current step, as a finished one: the last checkpoint is written and
    /// the final evaluation runs. With data parallelism every rank stops at the same step.
    /// </summary>
    public void RequestStop(string reason)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        StopReason ??= reason;
    }

    /// <summary>
    /// Evaluates the model on the validation slices now (rank 0; none, as in a fit on
    /// <see cref="FoldSplit.All"/>: an
    /// <see cref="InvalidOperationException"/>), with the challenge's scores when
    /// <see cref="TrainerOptions.ChallengeScores"/> is on, records it and tells every callback.
    /// </summary>
    public EvaluationRecord Evaluate()
    {
        if (!IsMainRank) throw new InvalidOperationException($"rank {Rank} does not evaluate: rank 0 alone does");
        if (Fold.Validation.Count == 0) throw new InvalidOperationException("this fit has no validation slices to evaluate on");
        var metrics = _data.Evaluate(Trainer, Fold.Validation);
        var record = new EvaluationRecord(Step, metrics, Options.ChallengeScores && _data is SegmentationTrainingData ? Trainer.Evaluator.ChallengeScores(Data, Fold.Validation) : null);
        _evaluations.Add(record);
        _callbacks.EvaluationEnd(this, record);
        return record;
    }

    /// <summary>
    /// Writes the checkpoint of the current step into <see cref="TrainerOptions.CheckpointDirectory"/>
    /// (atomically; older ones beyond <see cref="TrainerOptions.KeepLast"/> are pruned), records it
    /// and tells every callback. Rank 0 only; no folder set: an <see cref="InvalidOperationException"/>.
    /// </summary>
    public string SaveCheckpoint(CheckpointKind kind = CheckpointKind.Periodic)
    {
        string dir = Options.CheckpointDirectory ?? throw new InvalidOperationException("no checkpoint folder is set (TrainerBuilder.WithCheckpoints)");
        if (!IsMainRank) throw new InvalidOperationException($"rank {Rank} does not write checkpoints: rank 0 alone does");
        string path = Trainer.SaveCheckpoint(Checkpoints.PathFor(dir, Step), Step, NextBatch(), Fold, null);
        Checkpoints.Prune(dir, Options.KeepLast);
        (LastCheckpoint, LastCheckpointStep) = (path, Step);
        _callbacks.CheckpointSaved(this, new CheckpointRecord(path, Step, kind));
        return path;
    }

    /// <summary>
    /// Writes the current weights, optimizer and run state to <paramref name="path"/> (atomically),
    /// with <paramref name="metadata"/> added to the checkpoint's own, and tells every callback.
    /// Not a step checkpoint: never pruned, never resumed from. Rank 0 only.
    /// </summary>
    public string SaveCheckpointAs(string path, CheckpointKind kind, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!IsMainRank) throw new InvalidOperationException($"rank {Rank} does not write checkpoints: rank 0 alone does");
        string written = Trainer.SaveCheckpoint(path, Step, NextBatch(), Fold, metadata);
        _callbacks.CheckpointSaved(this, new CheckpointRecord(written, Step, kind));
        return written;
    }

    internal Func<long> NextBatch { get; set; } = () => 0;

    internal void AddLogged(StepRecord record) => _history.Add(record);

    internal TrainingResult Result(bool completed, string? stopReason, TimeSpan elapsed) =>
        new(Step, completed, _history.ToList(), _evaluations.ToList(), LastCheckpoint, elapsed, stopReason);
}
