using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using UNet.Segmentation.Benchmarking;
using UNet.Segmentation.Data;
using UNet.Segmentation.Model;
using UNet.Segmentation.Model.Precision;
using UNet.Segmentation.Runtime;
using static TorchSharp.torch;
using Adam = TorchSharp.Modules.Adam;
using Parameter = TorchSharp.Modules.Parameter;

namespace UNet.Segmentation.Training;

/// <summary>
/// Trains a <see cref="UNetModel"/> as the reference does (Adam, Dice + cross-entropy, coupled
/// L2), with mixed precision, checkpoints, exact resume, logging and cancellation, in this one
/// process. Made with <c>Trainer.For(model)...Build()</c>. Runs synchronously on the calling
/// thread (dispose scopes and mixed-precision scopes are per thread); batches are prepared on a
/// background thread. Unless <see cref="TrainerOptions.KeepFreedMemory"/> is false, building a
/// trainer turns on <see cref="FreedMemoryReuse"/> for the whole process.
/// </summary>
public sealed class Trainer : IDisposable
{
    private readonly ILogger _logger;
    private readonly IReadOnlyList<Parameter> _parameters;
    private readonly Adam _adam;
    private readonly LossScaler _scaler;

    internal Trainer(UNetModel model, TrainerOptions options, ILogger? logger)
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
    }

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
    /// checkpoint (when a folder is set) and returns the partial result.
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
            manual_seed(Options.Seed);
        }
        long maxSteps = Options.MaxSteps;
        var history = new List<StepRecord>();
        var evaluations = new List<EvaluationRecord>();
        using var metrics = new MetricsLog(Options.MetricsFile);
        using var loader = data.TrainingBatches(fold.Training, Options.BatchSize, Options.Data, Options.Seed, startBatch: nextBatch, cancellation: cancellation);
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
                var (loss, logits, labels) = TrainStep(batch, out bool applied);
                step++;
                if (Options.LogEvery > 0 && step % Options.LogEvery == 0)
                {
                    double seconds = Math.Max(window.Elapsed.TotalSeconds, 1e-9);
                    double lossValue = loss.item<float>(), dice;
                    using (no_grad()) dice = 1 - Losses.SoftDice(logits, labels).item<float>();
                    long windowSteps = step - windowStart;
                    window.Restart();
                    windowStart = step;
                    var record = new StepRecord(step, lossValue, lr, windowSteps * Options.BatchSize / seconds, _scaler.CurrentScale, !applied);
                    history.Add(record);
                    metrics.Write("train", new { record.Step, record.Loss, Dice = dice, record.LearningRate, record.ImagesPerSecond, record.LossScale, record.Skipped });
                    _logger.LogInformation("step {Step} loss {Loss:F4} dice {Dice:F4} lr {LearningRate:G3} {ImagesPerSecond:F2} img/s scale {Scale}",
                        step, record.Loss, dice, lr, record.ImagesPerSecond, _scaler.CurrentScale);
                }
            }
            if (Options.EvaluateEvery > 0 && step % Options.EvaluateEvery == 0 && step < maxSteps && fold.Validation.Count > 0)
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
        return BenchmarkReport.FromStepTimes("train", Options.BatchSize, warmupSteps, times);
    }

    /// <summary>Metrics of the model on <paramref name="slices"/> (no augmentation, inference mode, evaluation mode).</summary>
    public SegmentationMetrics Evaluate(IsbiDataset data, IReadOnlyList<int> slices)
    {
        ArgumentNullException.ThrowIfNull(data);
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
            applied = _scaler.Step(_adam, _parameters);
        }
        else
        {
            loss.backward();
            _adam.step();
            applied = true;
        }
        return (loss, logits, labels);
    }

    private void SetLearningRate(double lr)
    {
        foreach (var group in _adam.ParamGroups) group.LearningRate = lr;
    }

    private MixedPrecisionScope? MixedPrecisionScope() => Options.Precision.Autocast(Options.Device.type);

    private Tensor OnDevice(Tensor t) => Options.Device.type == DeviceType.CPU ? t : t.to(Options.Device);

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
