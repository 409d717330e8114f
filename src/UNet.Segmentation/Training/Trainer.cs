using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using UNet.Segmentation.Benchmarking;
using UNet.Segmentation.Data;
using UNet.Segmentation.Model;
using UNet.Segmentation.Torch;
using UNet.Segmentation.Torch.Optim;

namespace UNet.Segmentation.Training;

/// <summary>
/// Trains a <see cref="UNetModel"/> as the reference does (Adam, Dice + cross-entropy, coupled
/// L2), with mixed precision, checkpoints, exact resume, logging and cancellation. Made with
/// <c>Trainer.For(model)...Build()</c>. Runs synchronously on the calling thread (tensor scopes
/// and autocast are per thread); batches are prepared on a background thread.
/// </summary>
public sealed class Trainer : IDisposable
{
    private readonly ILogger _logger;
    private readonly Adam _adam;
    private readonly LossScaler _scaler;

    internal Trainer(UNetModel model, TrainerOptions options, ILogger? logger)
    {
        Model = model;
        Options = options;
        _logger = logger ?? NullLogger.Instance;
        if (options.Device != Device.Cpu) model.To(device: options.Device);
        _adam = new Adam(model.Parameters(), options.LearningRate, options.Beta1, options.Beta2, options.Epsilon);
        _scaler = new LossScaler(enabled: options.Precision == Precision.Float16);
    }

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
    /// is set) and returns the partial result.
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
        if (resume && dir is not null && Checkpoints.Latest(dir) is { } latest)
        {
            var state = Checkpoints.Restore(latest, Model, _adam);
            (step, nextBatch) = (state.Step, state.NextBatch);
            _scaler.Restore(state.Scaler);
            lastCheckpoint = latest;
            savedAt = step;
            _logger.LogInformation("Resumed from {Checkpoint} at step {Step}", latest, step);
        }
        else
        {
            LibTorch.ManualSeed((ulong)Options.Seed);
        }
        var history = new List<StepRecord>();
        var evaluations = new List<EvaluationRecord>();
        using var metrics = new MetricsLog(Options.MetricsFile);
        using var loader = data.TrainingBatches(fold.Training, Options.BatchSize, Options.Data, Options.Seed, startBatch: nextBatch, cancellation: cancellation);
        Model.Train();
        var parameters = Model.Parameters();
        var window = Stopwatch.StartNew();
        long windowStart = step;
        bool cancelled = false;
        while (step < Options.MaxSteps)
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
                if (_scaler.Enabled)
                {
                    _scaler.Scale(loss).Backward();
                    applied = _scaler.Step(_adam, parameters);
                }
                else
                {
                    loss.Backward();
                    _adam.Step();
                    applied = true;
                }
                step++;
                if (Options.LogEvery > 0 && step % Options.LogEvery == 0)
                {
                    double seconds = Math.Max(window.Elapsed.TotalSeconds, 1e-9);
                    var record = new StepRecord(step, loss.ToDouble(), lr, (step - windowStart) * Options.BatchSize / seconds, _scaler.CurrentScale, !applied);
                    double dice;
                    using (Autograd.NoGrad()) dice = 1 - Losses.SoftDice(logits, labels).ToDouble();
                    history.Add(record);
                    metrics.Write("train", new { record.Step, record.Loss, Dice = dice, record.LearningRate, record.ImagesPerSecond, record.LossScale, record.Skipped });
                    _logger.LogInformation("step {Step} loss {Loss:F4} dice {Dice:F4} lr {LearningRate:G3} {ImagesPerSecond:F2} img/s scale {Scale}",
                        step, record.Loss, dice, lr, record.ImagesPerSecond, _scaler.CurrentScale);
                    window.Restart();
                    windowStart = step;
                }
            }
            if (Options.EvaluateEvery > 0 && step % Options.EvaluateEvery == 0 && step < Options.MaxSteps && fold.Validation.Count > 0)
                evaluations.Add(EvaluateAndLog(data, fold.Validation, step, metrics));
            if (dir is not null && step % Options.CheckpointEvery == 0)
                (lastCheckpoint, savedAt) = (SaveCheckpoint(dir, step, loader.NextBatch), step);
            if (cancellation.IsCancellationRequested)
            {
                cancelled = true;
                break;
            }
        }
        if (dir is not null && savedAt != step)
            lastCheckpoint = SaveCheckpoint(dir, step, loader.NextBatch);
        if (!cancelled && fold.Validation.Count > 0)
            evaluations.Add(EvaluateAndLog(data, fold.Validation, step, metrics));
        return new TrainingResult(step, !cancelled, history, evaluations, lastCheckpoint, clock.Elapsed);
    }

    /// <summary>
    /// The reference's training benchmark: <paramref name="warmupSteps"/> + <paramref name="steps"/>
    /// real training steps on <paramref name="fold"/>'s batches (the model learns), each
    /// synchronised by reading its loss, reported as "train" without the warm-up steps.
    /// </summary>
    public BenchmarkReport Benchmark(IsbiDataset data, FoldSplit fold, int warmupSteps, int steps)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(fold);
        ArgumentOutOfRangeException.ThrowIfNegative(warmupSteps);
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        using var loader = data.TrainingBatches(fold.Training, Options.BatchSize, Options.Data, Options.Seed);
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
                _scaler.Step(_adam, parameters);
            }
            else
            {
                loss.Backward();
                _adam.Step();
            }
            loss.ToDouble(); // synchronises, as the reference's per-step timestamps do
            times.Add(clock.Elapsed.TotalSeconds);
        }
        return BenchmarkReport.FromStepTimes("train", Options.BatchSize, warmupSteps, times);
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

    private IDisposable? AutocastFor() => Options.Precision switch
    {
        Precision.BFloat16 => Autocast.Enable(Options.Device.Type, ScalarType.BFloat16),
        Precision.Float16 => Autocast.Enable(Options.Device.Type, ScalarType.Float16),
        _ => null,
    };

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
        string path = Checkpoints.Save(dir, Model, _adam, new CheckpointState(step, nextBatch, _scaler.State, Options.Seed));
        Checkpoints.Prune(dir, Options.KeepLast);
        _logger.LogInformation("checkpoint {Path}", path);
        return path;
    }

    /// <summary>Frees the optimizer state (the model stays the caller's).</summary>
    public void Dispose() => _adam.Dispose();
}
