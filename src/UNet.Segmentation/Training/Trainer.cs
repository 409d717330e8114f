using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using UNet.Segmentation.Benchmarking;
using UNet.Segmentation.Data;
using UNet.Segmentation.Distributed;
using UNet.Segmentation.Distributed.Mpi;
using UNet.Segmentation.Model;
using UNet.Segmentation.Model.Precision;
using UNet.Segmentation.Runtime;
using static TorchSharp.torch;
using Adam = TorchSharp.Modules.Adam;
using Parameter = TorchSharp.Modules.Parameter;

namespace UNet.Segmentation.Training;

/// <summary>
/// Trains a <see cref="UNetModel"/> as the reference does (Adam, Dice + cross-entropy, coupled
/// L2), with mixed precision, checkpoints, exact resume, logging and cancellation. Made with
/// <c>Trainer.For(model)...Build()</c>. Runs synchronously on the calling thread (dispose scopes
/// and mixed-precision scopes are per thread); batches are prepared on a background thread.
/// Unless <see cref="TrainerOptions.KeepFreedMemory"/> is false, building a trainer turns on
/// <see cref="FreedMemoryReuse"/> for the whole process. With
/// <see cref="TrainerBuilder.WithDataParallel"/> it is one rank of a data-parallel job over MPI
/// (and NCCL for CUDA tensors): see docs/data-parallel.md.
/// </summary>
public sealed class Trainer : IDisposable
{
    private readonly ILogger _logger;
    private readonly IReadOnlyList<Parameter> _parameters;
    private readonly Adam _adam;
    private readonly LossScaler _scaler;
    private readonly DataParallel? _parallel;

    internal Trainer(UNetModel model, TrainerOptions options, ILogger? logger, MpiWorld? world = null)
    {
        Model = model;
        Options = options;
        _logger = logger ?? NullLogger.Instance;
        if (options.KeepFreedMemory) FreedMemoryReuse.Enable();
        // Move first: the optimizer's state is made beside the parameters it is given.
        if (options.Device.type != DeviceType.CPU) model.to(options.Device);
        _parameters = model.parameters().ToList();
        // The coupled L2 term is part of the loss (Losses.L2), so Adam itself decays nothing.
        _adam = torch.optim.Adam(_parameters, options.LearningRate, options.Beta1, options.Beta2, options.Epsilon, weight_decay: 0);
        _scaler = new LossScaler(enabled: options.Precision == Precision.Float16);
        if (world is not null)
        {
            try
            {
                _parallel = new DataParallel(world, options.DataParallel ?? new DataParallelOptions(), options.Device, _logger);
            }
            catch
            {
                _adam.Dispose();
                throw;
            }
            _logger.LogInformation("rank {Rank}: world size {WorldSize} over {Engine}", Rank, WorldSize, _parallel.Engine);
        }
    }

    /// <summary>This process's data-parallel rank (0 without data parallelism).</summary>
    public int Rank => _parallel?.Rank ?? 0;

    /// <summary>The number of data-parallel ranks (1 without data parallelism).</summary>
    public int WorldSize => _parallel?.WorldSize ?? 1;

    /// <summary>True on the rank that reads and writes checkpoints, logs and evaluates (rank 0).</summary>
    public bool IsMainRank => Rank == 0;

    /// <summary>
    /// The steps each rank takes: <see cref="TrainerOptions.MaxSteps"/> / <see cref="WorldSize"/>
    /// rounded down (at least 1), as the reference divides max_steps by the number of GPUs so
    /// that the samples seen stay the same.
    /// </summary>
    public long StepsPerRank => Math.Max(1, Options.MaxSteps / WorldSize);

    /// <summary>Starts the fluent configuration.</summary>
    public static TrainerBuilder For(UNetModel model) => new(model);

    /// <summary>The model being trained (not owned: the caller disposes it).</summary>
    public UNetModel Model { get; }

    /// <summary>The validated options.</summary>
    public TrainerOptions Options { get; }

    /// <summary>
    /// Trains on <paramref name="fold"/>'s training slices up to <see cref="TrainerOptions.MaxSteps"/>,
    /// resuming from the newest checkpoint when <paramref name="resume"/> and one exists (weights,
    /// optimizer state, generator, loss scale and data position, so the run continues exactly as
    /// an unbroken one), and evaluates on its validation slices at the end. Cancelling writes a
    /// checkpoint (when a folder is set) and returns the partial result. Data-parallel: every
    /// rank calls it with the same arguments; rank 0 alone reads the checkpoint folder (its
    /// weights, optimizer state, position and loss scale are broadcast; a checkpoint of another
    /// world size resumes at the same number of samples seen), logs, evaluates and writes
    /// checkpoints; the other ranks return an empty history. A rank that hangs makes the
    /// watchdog abort the job after <see cref="DataParallelOptions.Timeout"/>.
    /// </summary>
    public TrainingResult Fit(SegmentationData data, FoldSplit fold, bool resume = true, CancellationToken cancellation = default)
    {
        CheckData(data);
        ArgumentNullException.ThrowIfNull(fold);
        var clock = Stopwatch.StartNew();
        long step = 0, nextBatch = 0;
        string? lastCheckpoint = null;
        long savedAt = -1;
        string? dir = Options.CheckpointDirectory;
        bool resumed = false;
        if (IsMainRank && resume && dir is not null && Checkpoints.Latest(dir) is { } latest)
        {
            var saved = Checkpoints.Restore(latest, Model, _adam);
            var state = saved.AtWorldSize(WorldSize);
            (step, nextBatch) = (state.Step, state.NextBatch);
            _scaler.Restore(state.Scaler);
            lastCheckpoint = latest;
            savedAt = saved.WorldSize == WorldSize ? step : -1;
            resumed = true;
            if (saved.WorldSize == WorldSize) _logger.LogInformation("Resumed from {Checkpoint} at step {Step}", latest, step);
            else _logger.LogInformation("Resumed from {Checkpoint} at step {Step} (written by {Ranks} rank(s); now {WorldSize})", latest, step, saved.WorldSize, WorldSize);
        }
        else
        {
            manual_seed(Options.Seed);
        }
        if (_parallel is not null) (step, nextBatch) = SynchronizeStart(step, nextBatch, resumed);
        long maxSteps = StepsPerRank;
        var history = new List<StepRecord>();
        var evaluations = new List<EvaluationRecord>();
        using var metrics = new MetricsLog(IsMainRank ? Options.MetricsFile : null);
        using var loader = data.TrainingBatches(fold.Training, Options.BatchSize, Options.Data, Options.Seed, Rank, WorldSize, nextBatch, cancellation);
        Model.train();
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
            using (var scope = NewDisposeScope())
            {
                double lr = Options.Schedule?.At(step) ?? Options.LearningRate;
                SetLearningRate(lr);
                if (_parallel is not null) _parallel.Step = step + 1;
                var (loss, logits, labels) = TrainStep(batch, out bool applied);
                step++;
                if (Options.LogEvery > 0 && step % Options.LogEvery == 0)
                {
                    double seconds = Math.Max(window.Elapsed.TotalSeconds, 1e-9);
                    double lossValue = loss.item<float>(), dice;
                    using (no_grad()) dice = 1 - Losses.SoftDice(logits, labels).item<float>();
                    if (_parallel is not null)
                    {
                        // Every rank logs on the same steps: the job's loss and Dice are the means over the ranks.
                        var mean = _parallel.Average([lossValue, dice], "the logged loss and Dice");
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
        // Leave together, before rank 0's last checkpoint and evaluation, which the others need not wait for.
        if (_parallel is not null && !cancelled)
        {
            _parallel.Step = null;
            _parallel.Barrier("end of training");
        }
        if (IsMainRank && dir is not null && savedAt != step)
            lastCheckpoint = SaveCheckpoint(dir, step, loader.NextBatch);
        if (IsMainRank && !cancelled && fold.Validation.Count > 0)
            evaluations.Add(EvaluateAndLog(data, fold.Validation, step, metrics));
        return new TrainingResult(step, !cancelled, history, evaluations, lastCheckpoint, clock.Elapsed);
    }

    /// <summary>
    /// The reference's training benchmark: <paramref name="warmupSteps"/> + <paramref name="steps"/>
    /// real training steps on <paramref name="fold"/>'s batches (the model learns), each
    /// synchronised by reading its loss, reported as "train" without the warm-up steps.
    /// Data-parallel: every rank runs it (gradients averaged each step) and the report's batch is
    /// the global one (BatchSize × WorldSize), so its throughput is the job's. The steps run in
    /// <see cref="TrainerOptions.Precision"/>, which the report records.
    /// </summary>
    public BenchmarkReport Benchmark(SegmentationData data, FoldSplit fold, int warmupSteps, int steps)
    {
        CheckData(data);
        ArgumentNullException.ThrowIfNull(fold);
        ArgumentOutOfRangeException.ThrowIfNegative(warmupSteps);
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        using var loader = data.TrainingBatches(fold.Training, Options.BatchSize, Options.Data, Options.Seed, Rank, WorldSize);
        Model.train();
        var times = new List<double>(warmupSteps + steps);
        for (int i = 0; i < warmupSteps + steps; i++)
        {
            using var batch = loader.Take();
            using var scope = NewDisposeScope();
            var clock = Stopwatch.StartNew();
            var (loss, _, _) = TrainStep(batch, out _);
            loss.item<float>(); // synchronises, as the reference's per-step timestamps do
            times.Add(clock.Elapsed.TotalSeconds);
        }
        return BenchmarkReport.FromStepTimes("train", Options.BatchSize * WorldSize, warmupSteps, times) with { Precision = Options.Precision };
    }

    /// <summary>Metrics of the model on <paramref name="slices"/> (no augmentation, inference mode, evaluation mode).</summary>
    public SegmentationMetrics Evaluate(SegmentationData data, IReadOnlyList<int> slices)
    {
        CheckData(data);
        bool wasTraining = Model.training;
        Model.eval();
        try
        {
            var accumulator = new MetricsAccumulator();
            using var inference = inference_mode();
            foreach (var batch in data.EvaluationBatches(slices, Options.BatchSize, Options.Data with { Augment = false }))
            {
                using (batch)
                using (var scope = NewDisposeScope())
                {
                    Tensor logits;
                    using (MixedPrecisionScope()) logits = Model.call(OnDevice(batch.Images));
                    accumulator.Add(logits, OnDevice(batch.Labels));
                }
            }
            return accumulator.Result();
        }
        finally
        {
            Model.train(wasTraining);
        }
    }

    /// <summary>
    /// One optimizer step on <paramref name="batch"/>: gradients dropped, forward, backward (of the
    /// scaled loss with float16), and Adam's step unless the loss scaler skips it for non-finite
    /// gradients. Returns the loss, logits and labels, owned by the caller's dispose scope.
    /// </summary>
    private (Tensor Loss, Tensor Logits, Tensor Labels) TrainStep(Batch batch, out bool applied)
    {
        Model.zero_grad();
        var images = OnDevice(batch.Images);
        var labels = OnDevice(batch.Labels);
        Tensor logits;
        using (MixedPrecisionScope()) logits = Model.call(images);
        var loss = Losses.Compute(Options.Loss, logits, labels);
        if (Options.WeightDecay > 0)
        {
            using var l2 = Losses.L2(_parameters, Options.WeightDecay);
            loss = loss.add(l2);
        }
        if (_scaler.Enabled)
        {
            using (var scaled = _scaler.Scale(loss)) scaled.backward();
            _parallel?.AverageGradients(_parameters);
            bool finite = _scaler.UnscaleAndCheck(_parameters);
            // Every rank takes the same decision: skip when any rank saw a non-finite gradient.
            if (_parallel is not null) finite = !_parallel.Any(!finite, "the loss scaler's overflow check");
            if (finite) _adam.step();
            _scaler.Update(finite);
            applied = finite;
        }
        else
        {
            loss.backward();
            _parallel?.AverageGradients(_parameters);
            _adam.step();
            applied = true;
        }
        return (loss, logits, labels);
    }

    /// <summary>The data must fit the model: its image channels are the model's input channels, its classes the model's outputs.</summary>
    private void CheckData(SegmentationData data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.ImageChannels != Model.Options.InputChannels || data.Classes != Model.Options.Classes)
            throw new ArgumentException(
                $"{data.Source} has {data.ImageChannels}-channel images and {data.Classes} classes; the model takes {Model.Options.InputChannels} channel(s) and predicts {Model.Options.Classes} classes", nameof(data));
    }

    private void SetLearningRate(double lr)
    {
        foreach (var group in _adam.ParamGroups) group.LearningRate = lr;
    }

    private MixedPrecisionScope? MixedPrecisionScope() => Options.Precision.Autocast(Options.Device.type);

    private Tensor OnDevice(Tensor t) => Options.Device.type == DeviceType.CPU ? t : t.to(Options.Device);

    private EvaluationRecord EvaluateAndLog(SegmentationData data, IReadOnlyList<int> slices, long step, MetricsLog metrics)
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

    /// <summary>
    /// Makes every rank start where rank 0 starts: its step, data position and loss scale, then its
    /// weights (parameters and buffers) and Adam's state. The other ranks seed their generator from
    /// (seed, rank, step), so that their dropout differs from rank 0's.
    /// </summary>
    private (long Step, long NextBatch) SynchronizeStart(long step, long nextBatch, bool resumed)
    {
        var p = _parallel!;
        var s = _scaler.State;
        var states = Checkpoints.AdamStates(_adam);
        long[] position = [step, nextBatch, BitConverter.DoubleToInt64Bits(s.Scale), s.GoodSteps, s.SkippedSteps, resumed ? 1 : 0, .. states.Select(a => a.step)];
        position = p.BroadcastFromMain(position, "the start position");
        if (!IsMainRank)
        {
            (step, nextBatch) = (position[0], position[1]);
            if (position[5] != 0) _scaler.Restore(new LossScalerState(BitConverter.Int64BitsToDouble(position[2]), (int)position[3], position[4]));
            for (int i = 0; i < states.Count; i++) states[i].step = position[6 + i];
            manual_seed(Seeds.Mix(Options.Seed, Rank, step));
        }
        p.BroadcastFromMain(Model.state_dict().Values, "the weights");
        p.BroadcastFromMain(states.SelectMany(a => a.max_exp_avg_sq is { } m ? new[] { a.exp_avg, a.exp_avg_sq, m } : [a.exp_avg, a.exp_avg_sq]), "Adam's state");
        return (step, nextBatch);
    }

    /// <summary>Frees the optimizer state and the data-parallel buffers (the model stays the caller's; the MPI world the application's).</summary>
    public void Dispose()
    {
        _parallel?.Dispose();
        _adam.Dispose();
    }
}
