using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using UNet.Segmentation.Benchmarking;
using UNet.Segmentation.Data;
using UNet.Segmentation.Model;
using UNet.Segmentation.Torch;
using UNet.Segmentation.Torch.Distributed;
using UNet.Segmentation.Torch.Optim;

namespace UNet.Segmentation.Training;

/// <summary>
/// Trains a <see cref="UNetModel"/> as the reference does (Adam, Dice + cross-entropy, coupled
/// L2), with mixed precision, checkpoints, exact resume, logging and cancellation. Made with
/// <c>Trainer.For(model)...Build()</c>. Runs synchronously on the calling thread (tensor scopes
/// and autocast are per thread); batches are prepared on a background thread. With
/// <see cref="TrainerBuilder.WithDataParallel"/> it is one rank of a data-parallel job (see
/// docs/data-parallel.md).
/// </summary>
public sealed class Trainer : IDisposable
{
    private readonly ILogger _logger;
    private readonly Adam _adam;
    private readonly LossScaler _scaler;
    private readonly Store? _store;
    private readonly ProcessGroup? _group;

    internal Trainer(UNetModel model, TrainerOptions options, ILogger? logger)
    {
        Model = model;
        Options = options;
        _logger = logger ?? NullLogger.Instance;
        if (options.Device != Device.Cpu) model.To(device: options.Device);
        _adam = new Adam(model.Parameters(), options.LearningRate, options.Beta1, options.Beta2, options.Epsilon);
        _scaler = new LossScaler(enabled: options.Precision == Precision.Float16);
        if (options.Distributed is { } d)
        {
            try
            {
                _store = d.StoreFile is null
                    ? Store.Tcp(d.MasterAddress, d.MasterPort, isServer: d.Rank == 0, d.WorldSize, d.Timeout)
                    : Store.File(d.StoreFile, d.WorldSize, d.Timeout);
                _group = ProcessGroup.Create(_store, d.Backend, d.Rank, d.WorldSize, d.Timeout);
            }
            catch
            {
                _store?.Dispose();
                _adam.Dispose();
                throw;
            }
            if (d.IsMainRank)
                _logger.LogInformation("data-parallel: {WorldSize} ranks over {Backend} at {Store}, timeout {Timeout}", d.WorldSize, d.Backend, _store.Description, d.Timeout);
        }
    }

    /// <summary>This process's data-parallel rank (0 without data parallelism).</summary>
    public int Rank => _group?.Rank ?? 0;

    /// <summary>The number of data-parallel ranks (1 without data parallelism).</summary>
    public int WorldSize => _group?.WorldSize ?? 1;

    /// <summary>True on the rank that logs, evaluates and writes checkpoints (rank 0).</summary>
    public bool IsMainRank => Rank == 0;

    /// <summary>The steps each rank takes: ⌈MaxSteps / WorldSize⌉, so the samples seen match one process's MaxSteps steps.</summary>
    public long StepsPerRank => (Options.MaxSteps + WorldSize - 1) / WorldSize;

    /// <summary>Starts the fluent configuration.</summary>
    public static TrainerBuilder For(UNetModel model) => new(model);

    /// <summary>The model being trained (not owned: the caller disposes it).</summary>
    public UNetModel Model { get; }

    /// <summary>The validated options.</summary>
    public TrainerOptions Options { get; }

    /// <summary>
    /// Trains on <paramref name="fold"/>'s training slices up to <see cref="TrainerOptions.MaxSteps"/>,
    /// resuming from the newest checkpoint when <paramref name="resume"/> and one exists, and
    /// evaluates on its validation slices at the end. Cancelling writes a checkpoint (when a folder
    /// is set) and returns the partial result. Data-parallel: every rank calls it; rank 0 alone
    /// reads the checkpoint folder (its weights, optimizer state and position are broadcast, and a
    /// checkpoint of another world size resumes at the same number of samples seen), logs,
    /// evaluates and writes checkpoints; the other ranks return an empty history. A rank that dies
    /// or hangs makes the others throw <see cref="DistributedException"/> within the timeout.
    /// </summary>
    public TrainingResult Fit(IsbiDataset data, FoldSplit fold, bool resume = true, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(fold);
        var clock = Stopwatch.StartNew();
        long step = 0, nextBatch = 0;
        string? lastCheckpoint = null;
        long savedAt = -1;
        string? dir = Options.CheckpointDirectory;
        bool resumed = false;
        if (IsMainRank && resume && dir is not null && Checkpoints.Latest(dir) is { } latest)
        {
            var state = Checkpoints.Restore(latest, Model, _adam);
            (step, nextBatch) = (state.Step, state.NextBatch);
            if (state.WorldSize != WorldSize)
            {
                // The same samples seen, in steps of the new global batch (rounded down).
                step = state.Step * state.WorldSize / WorldSize;
                nextBatch = state.NextBatch * state.WorldSize / WorldSize;
            }
            _scaler.Restore(state.Scaler);
            lastCheckpoint = latest;
            savedAt = step;
            resumed = true;
            _logger.LogInformation("Resumed from {Checkpoint} at step {Step} (written by {Ranks} rank(s); now {WorldSize})", latest, step, state.WorldSize, WorldSize);
        }
        else
        {
            LibTorch.ManualSeed((ulong)Options.Seed);
        }
        if (_group is not null) (step, nextBatch) = SynchronizeStart(step, nextBatch, resumed);
        long maxSteps = StepsPerRank;
        var history = new List<StepRecord>();
        var evaluations = new List<EvaluationRecord>();
        using var metrics = new MetricsLog(IsMainRank ? Options.MetricsFile : null);
        using var loader = data.TrainingBatches(fold.Training, Options.BatchSize, Options.Data, Options.Seed, Rank, WorldSize, nextBatch, cancellation);
        Model.Train();
        var parameters = Model.Parameters();
        var window = Stopwatch.StartNew();
        long windowStart = step;
        bool cancelled = false;
        while (step < maxSteps)
        {
            Batch batch;
            try
            {
                batch = loader.Take(cancellation);
            }
            catch (OperationCanceledException)
            {
                cancelled = true;
                break;
            }
            using (batch)
            using (var scope = TensorScope.Begin())
            {
                double lr = Options.Schedule?.At(step) ?? Options.LearningRate;
                _adam.LearningRate = lr;
                _adam.ZeroGrad();
                var (loss, logits, labels) = Forward(batch, parameters);
                bool applied;
                // Averaging the (scaled) gradients before the scaler unscales and checks them makes
                // every rank see the same values, so all agree on skipping a non-finite step.
                if (_scaler.Enabled)
                {
                    _scaler.Scale(loss).Backward();
                    _group?.AllReduceGradientsMean(parameters, Options.Distributed!.BucketBytes);
                    applied = _scaler.Step(_adam, parameters);
                }
                else
                {
                    loss.Backward();
                    _group?.AllReduceGradientsMean(parameters, Options.Distributed!.BucketBytes);
                    _adam.Step();
                    applied = true;
                }
                step++;
                if (Options.LogEvery > 0 && step % Options.LogEvery == 0)
                {
                    double seconds = Math.Max(window.Elapsed.TotalSeconds, 1e-9);
                    double lossValue = loss.ToDouble(), dice;
                    using (Autograd.NoGrad()) dice = 1 - Losses.SoftDice(logits, labels).ToDouble();
                    if (_group is not null)
                    {
                        // Every rank logs on the same steps: average the loss and Dice over all of them.
                        var both = Tensor.From(new[] { lossValue, dice });
                        _group.AllReduceMean([both]);
                        var mean = both.ToArray<double>();
                        (lossValue, dice) = (mean[0], mean[1]);
                    }
                    long windowSteps = step - windowStart;
                    window.Restart();
                    windowStart = step;
                    if (IsMainRank)
                    {
                        var record = new StepRecord(step, lossValue, lr, windowSteps * Options.BatchSize * WorldSize / seconds, _scaler.CurrentScale, !applied);
                        history.Add(record);
                        metrics.Write("train", new { record.Step, record.Loss, Dice = dice, record.LearningRate, record.ImagesPerSecond, record.LossScale, record.Skipped });
                        _logger.LogInformation("step {Step} loss {Loss:F4} dice {Dice:F4} lr {LearningRate:G3} {ImagesPerSecond:F2} img/s scale {Scale}",
                            step, record.Loss, dice, lr, record.ImagesPerSecond, _scaler.CurrentScale);
                    }
                }
            }
            if (IsMainRank && Options.EvaluateEvery > 0 && step % Options.EvaluateEvery == 0 && step < maxSteps && fold.Validation.Count > 0)
                evaluations.Add(EvaluateAndLog(data, fold.Validation, step, metrics));
            if (IsMainRank && dir is not null && step % Options.CheckpointEvery == 0)
                (lastCheckpoint, savedAt) = (SaveCheckpoint(dir, step, loader.NextBatch), step);
            if (cancellation.IsCancellationRequested)
            {
                cancelled = true;
                break;
            }
        }
        // Leave together, before rank 0's last checkpoint and evaluation (which the others need
        // not wait for): a rank that exits while a peer still reads its last message can cut it.
        if (_group is not null && !cancelled) _group.Barrier();
        if (IsMainRank && dir is not null && savedAt != step)
            lastCheckpoint = SaveCheckpoint(dir, step, loader.NextBatch);
        if (IsMainRank && !cancelled && fold.Validation.Count > 0)
            evaluations.Add(EvaluateAndLog(data, fold.Validation, step, metrics));
        return new TrainingResult(step, !cancelled, history, evaluations, lastCheckpoint, clock.Elapsed);
    }

    /// <summary>
    /// Makes every rank start where rank 0 starts: its step, data position and loss scale, then
    /// its weights (parameters and buffers) and optimizer state, in one bucketed broadcast each.
    /// Ranks other than 0 seed their generator from (seed, rank, step), so their dropout differs.
    /// </summary>
    private (long Step, long NextBatch) SynchronizeStart(long step, long nextBatch, bool resumed)
    {
        using var scope = TensorScope.Begin();
        var s = _scaler.State;
        var position = Tensor.From(new[] { step, nextBatch, BitConverter.DoubleToInt64Bits(s.Scale), s.GoodSteps, s.SkippedSteps, resumed ? 1L : 0L });
        _group!.Broadcast([position]);
        var p = position.ToArray<long>();
        if (!IsMainRank)
        {
            (step, nextBatch) = (p[0], p[1]);
            if (p[5] != 0) _scaler.Restore(new LossScalerState(BitConverter.Int64BitsToDouble(p[2]), (int)p[3], p[4]));
            LibTorch.ManualSeed((ulong)UNet.Segmentation.Data.Seeds.Mix(Options.Seed, Rank, step));
        }
        _group.Broadcast(Model.StateDict().Values.ToList(), bucketBytes: Options.Distributed!.BucketBytes);
        var optimizerState = _adam.StateDict();
        _group.Broadcast(optimizerState.Values.ToList(), bucketBytes: Options.Distributed.BucketBytes);
        if (!IsMainRank) _adam.LoadStateDict(optimizerState);
        return (step, nextBatch);
    }

    /// <summary>
    /// The reference's training benchmark: <paramref name="warmupSteps"/> + <paramref name="steps"/>
    /// real training steps on <paramref name="fold"/>'s batches (the model learns), each
    /// synchronised by reading its loss, reported as "train" without the warm-up steps.
    /// Data-parallel: every rank runs it (gradients averaged each step) and the report's batch is
    /// the global one (BatchSize × WorldSize), so its throughput is the job's.
    /// </summary>
    public BenchmarkReport Benchmark(IsbiDataset data, FoldSplit fold, int warmupSteps, int steps)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(fold);
        ArgumentOutOfRangeException.ThrowIfNegative(warmupSteps);
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        using var loader = data.TrainingBatches(fold.Training, Options.BatchSize, Options.Data, Options.Seed, Rank, WorldSize);
        Model.Train();
        var parameters = Model.Parameters();
        var times = new List<double>(warmupSteps + steps);
        for (int i = 0; i < warmupSteps + steps; i++)
        {
            using var batch = loader.Take();
            using var scope = TensorScope.Begin();
            var clock = Stopwatch.StartNew();
            _adam.ZeroGrad();
            var (loss, _, _) = Forward(batch, parameters);
            if (_scaler.Enabled)
            {
                _scaler.Scale(loss).Backward();
                _group?.AllReduceGradientsMean(parameters, Options.Distributed!.BucketBytes);
                _scaler.Step(_adam, parameters);
            }
            else
            {
                loss.Backward();
                _group?.AllReduceGradientsMean(parameters, Options.Distributed!.BucketBytes);
                _adam.Step();
            }
            loss.ToDouble(); // synchronises, as the reference's per-step timestamps do
            times.Add(clock.Elapsed.TotalSeconds);
        }
        return BenchmarkReport.FromStepTimes("train", Options.BatchSize * WorldSize, warmupSteps, times);
    }

    /// <summary>Metrics of the model on <paramref name="slices"/> (no augmentation, inference mode, evaluation mode).</summary>
    public SegmentationMetrics Evaluate(IsbiDataset data, IReadOnlyList<int> slices)
    {
        ArgumentNullException.ThrowIfNull(data);
        bool wasTraining = Model.IsTraining;
        Model.Eval();
        try
        {
            var accumulator = new MetricsAccumulator();
            using var inference = Autograd.InferenceMode();
            foreach (var batch in data.EvaluationBatches(slices, Options.BatchSize, Options.Data with { Augment = false }))
            {
                using (batch)
                using (var scope = TensorScope.Begin())
                using (AutocastFor())
                {
                    var logits = Model.Forward(OnDevice(batch.Images));
                    accumulator.Add(logits, OnDevice(batch.Labels));
                }
            }
            return accumulator.Result();
        }
        finally
        {
            Model.Train(wasTraining);
        }
    }

    private (Tensor Loss, Tensor Logits, Tensor Labels) Forward(Batch batch, IReadOnlyList<UNet.Segmentation.Torch.NN.Parameter> parameters)
    {
        var images = OnDevice(batch.Images);
        var labels = OnDevice(batch.Labels);
        Tensor logits;
        using (AutocastFor()) logits = Model.Forward(images);
        var loss = Losses.Compute(Options.Loss, logits, labels);
        if (Options.WeightDecay > 0) loss = loss.Add(Losses.L2(parameters, Options.WeightDecay));
        return (loss, logits, labels);
    }

    private IDisposable? AutocastFor() => Options.Precision.Autocast(Options.Device.Type);

    private Tensor OnDevice(Tensor t) => Options.Device == Device.Cpu ? t : t.To(Options.Device);

    private EvaluationRecord EvaluateAndLog(IsbiDataset data, IReadOnlyList<int> slices, long step, MetricsLog metrics)
    {
        var record = new EvaluationRecord(step, Evaluate(data, slices));
        metrics.Write("eval", new { record.Step, record.Metrics });
        _logger.LogInformation("evaluation at step {Step}: {Metrics}", step, record.Metrics);
        return record;
    }

    private string SaveCheckpoint(string dir, long step, long nextBatch)
    {
        string path = Checkpoints.Save(dir, Model, _adam, new CheckpointState(step, nextBatch, _scaler.State, Options.Seed, WorldSize));
        Checkpoints.Prune(dir, Options.KeepLast);
        _logger.LogInformation("checkpoint {Path}", path);
        return path;
    }

    /// <summary>Frees the optimizer state and leaves the process group (the model stays the caller's).</summary>
    public void Dispose()
    {
        _adam.Dispose();
        _group?.Dispose();
        _store?.Dispose();
    }
}
