using UNet.Segmentation.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace UNet.Segmentation.Training;

/// <summary>Numeric precision of training.</summary>
public enum Precision
{
    /// <summary>Everything in float32.</summary>
    Float32,
    /// <summary>bfloat16 mixed precision (CPU and CUDA; see <see cref="Model.Precision.MixedPrecisionModel"/>); no loss scaling needed.</summary>
    BFloat16,
    /// <summary>float16 mixed precision with dynamic loss scaling (CUDA only), the reference's AMP.</summary>
    Float16,
}

/// <summary>How the learning rate falls over a fit (<see cref="TrainerOptions.LearningRateDecay"/>).</summary>
public enum LearningRateDecay
{
    /// <summary>No decay: the rate stays <see cref="TrainerOptions.LearningRate"/> (the reference).</summary>
    Constant,
    /// <summary>Half a cosine from <see cref="TrainerOptions.LearningRate"/> at step 0 down to 0 at the end of the fit (<see cref="LearningRateSchedules.Cosine"/> over its steps).</summary>
    Cosine,
}

/// <summary>
/// Everything a <see cref="Trainer"/> needs besides the model. The defaults are the reference's
/// published runs: Adam 1e-4 (β 0.9/0.999, ε 1e-7), coupled L2 weight decay 5e-4, batch 8,
/// 6,400 steps, augmentation on, Dice + cross-entropy, float32.
/// </summary>
public sealed record TrainerOptions
{
    /// <summary>Adam's learning rate (or the schedule's base).</summary>
    public double LearningRate { get; init; } = 1e-4;
    /// <summary>Adam's β1.</summary>
    public double Beta1 { get; init; } = 0.9;
    /// <summary>Adam's β2.</summary>
    public double Beta2 { get; init; } = 0.999;
    /// <summary>Adam's ε (TensorFlow's default, which the reference uses).</summary>
    public double Epsilon { get; init; } = 1e-7;
    /// <summary>Coupled L2 term weight: the loss gains weightDecay·Σ‖w‖²/2, as the reference.</summary>
    public double WeightDecay { get; init; } = 5e-4;
    /// <summary>
    /// Learning rate per step, which replaces <see cref="LearningRateWarmupSteps"/> and
    /// <see cref="LearningRateDecay"/> when set; null: the rate those two make of
    /// <see cref="LearningRate"/> (the reference: neither, a constant rate).
    /// </summary>
    public ILearningRateSchedule? Schedule { get; init; }
    /// <summary>
    /// Steps over which the rate rises linearly from <see cref="LearningRate"/>/n to its value (0:
    /// none), within the steps of <see cref="LearningRateDecay"/>. Unused when <see cref="Schedule"/> is set.
    /// </summary>
    public long LearningRateWarmupSteps { get; init; }
    /// <summary>
    /// How the rate falls over the fit's steps (<see cref="Trainer.StepsPerRank"/>, so a
    /// data-parallel fit ends at the same rate): constant (the reference) or a cosine to 0.
    /// Unused when <see cref="Schedule"/> is set.
    /// </summary>
    public LearningRateDecay LearningRateDecay { get; init; }
    /// <summary>Optimizer steps in all.</summary>
    public long MaxSteps { get; init; } = 6400;
    /// <summary>Samples per step.</summary>
    public int BatchSize { get; init; } = 8;
    /// <summary>Seed of the weights, the data order and the augmentation.</summary>
    public int Seed { get; init; }
    /// <summary>The training loss.</summary>
    public LossKind Loss { get; init; } = LossKind.DiceCrossEntropy;
    /// <summary>Numeric precision.</summary>
    public Precision Precision { get; init; } = Precision.Float32;
    /// <summary>Where training runs.</summary>
    public Device Device { get; init; } = CPU;
    /// <summary>Log every this many steps (0: never).</summary>
    public int LogEvery { get; init; } = 100;
    /// <summary>Evaluate on the validation slices every this many steps (0: only at the end).</summary>
    public int EvaluateEvery { get; init; }
    /// <summary>
    /// Whether each evaluation during a fit also predicts the validation slices at full resolution
    /// and scores the challenge's V_rand and V_info (ISBI data only; it costs a prediction of each
    /// validation slice and the scoring's thresholds). Off by default.
    /// </summary>
    public bool ChallengeScores { get; init; }
    /// <summary>Preprocessing and augmentation.</summary>
    public DataOptions Data { get; init; } = DataOptions.Reference;
    /// <summary>Checkpoint folder; null: no checkpoints.</summary>
    public string? CheckpointDirectory { get; init; }
    /// <summary>Write a checkpoint every this many steps (and at the end, and when cancelled).</summary>
    public int CheckpointEvery { get; init; } = 500;
    /// <summary>How many checkpoints to keep (older ones are deleted after a new one is safely written).</summary>
    public int KeepLast { get; init; } = 3;
    /// <summary>A JSON-lines file that gets one object per logged step and per evaluation; null: none.</summary>
    public string? MetricsFile { get; init; }
    /// <summary>
    /// Whether the trainer makes glibc keep freed memory for reuse (true, the default) by calling
    /// <see cref="Runtime.FreedMemoryReuse.Enable"/> when it is built. That is a process-wide
    /// setting of the C library, not of this trainer: it stays on for the rest of the process and
    /// affects every allocation in it (see Runtime/FreedMemoryReuse.cs; the environment variable
    /// <c>UNET_KEEP_FREED_MEMORY=0</c> also keeps it off). False leaves the C library as it is.
    /// </summary>
    public bool KeepFreedMemory { get; init; } = true;

    /// <summary>The data-parallel settings (timeout, bucket size) used with <see cref="TrainerBuilder.WithDataParallel"/>; null: the defaults.</summary>
    public UNet.Segmentation.Distributed.DataParallelOptions? DataParallel { get; init; }

    /// <summary>
    /// The rate of every step of a fit of <paramref name="steps"/> steps: <see cref="Schedule"/>
    /// when set; else the warm-up and decay of <see cref="LearningRate"/>; null when neither is
    /// asked for (the optimizer keeps its own rate).
    /// </summary>
    internal ILearningRateSchedule? ScheduleFor(long steps)
    {
        if (Schedule is not null) return Schedule;
        if (LearningRateWarmupSteps == 0 && LearningRateDecay == LearningRateDecay.Constant) return null;
        var decay = LearningRateDecay == LearningRateDecay.Cosine
            ? LearningRateSchedules.Cosine(LearningRate, Math.Max(1, steps))
            : LearningRateSchedules.Constant(LearningRate);
        return decay.WithLinearWarmup(LearningRateWarmupSteps);
    }

    /// <summary>Every problem, each naming its option; empty when usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var p = new List<string>();
        if (DataParallel is not null) p.AddRange(DataParallel.Validate().Select(d => $"{nameof(DataParallel)}.{d}"));
        if (!(LearningRate > 0) || double.IsInfinity(LearningRate)) p.Add($"{nameof(LearningRate)} must be a finite positive number (got {LearningRate})");
        if (!(Beta1 is >= 0 and < 1)) p.Add($"{nameof(Beta1)} must lie in [0, 1) (got {Beta1})");
        if (!(Beta2 is >= 0 and < 1)) p.Add($"{nameof(Beta2)} must lie in [0, 1) (got {Beta2})");
        if (!(Epsilon >= 0)) p.Add($"{nameof(Epsilon)} must be non-negative (got {Epsilon})");
        if (!(WeightDecay >= 0)) p.Add($"{nameof(WeightDecay)} must be non-negative (got {WeightDecay})");
        if (LearningRateWarmupSteps < 0) p.Add($"{nameof(LearningRateWarmupSteps)} must be non-negative (got {LearningRateWarmupSteps})");
        if (!Enum.IsDefined(LearningRateDecay)) p.Add($"{nameof(LearningRateDecay)} {LearningRateDecay} is not a known decay");
        if (MaxSteps < 1) p.Add($"{nameof(MaxSteps)} must be at least 1 (got {MaxSteps})");
        if (BatchSize < 1) p.Add($"{nameof(BatchSize)} must be at least 1 (got {BatchSize})");
        if (Seed < 0) p.Add($"{nameof(Seed)} must be non-negative (got {Seed})");
        if (!Enum.IsDefined(Loss)) p.Add($"{nameof(Loss)} {Loss} is not a known loss");
        if (!Enum.IsDefined(Precision)) p.Add($"{nameof(Precision)} {Precision} is not a known precision");
        if (Device is null) p.Add($"{nameof(Device)} is null");
        else if (Precision == Precision.Float16 && Device.type != DeviceType.CUDA)
            p.Add($"{nameof(Precision)} Float16 needs a CUDA device (CPU mixed precision is bfloat16 only): use BFloat16 on {Device}");
        if (LogEvery < 0) p.Add($"{nameof(LogEvery)} must be non-negative (got {LogEvery})");
        if (EvaluateEvery < 0) p.Add($"{nameof(EvaluateEvery)} must be non-negative (got {EvaluateEvery})");
        if (CheckpointEvery < 1) p.Add($"{nameof(CheckpointEvery)} must be at least 1 (got {CheckpointEvery})");
        if (KeepLast < 1) p.Add($"{nameof(KeepLast)} must be at least 1 (got {KeepLast})");
        p.AddRange(Data.Validate().Select(d => $"{nameof(Data)}.{d}"));
        return p;
    }
}
