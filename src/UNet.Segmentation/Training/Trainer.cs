using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using UNet.Segmentation.Benchmarking;
using UNet.Segmentation.Data;
using UNet.Segmentation.Distributed;
using UNet.Segmentation.Distributed.Mpi;
using UNet.Segmentation.Model;
using UNet.Segmentation.Model.NnUNet;
using UNet.Segmentation.Model.Precision;
using UNet.Segmentation.Runtime;
using static TorchSharp.torch;
using UNet.Segmentation.Training.Callbacks;
using Adam = TorchSharp.Modules.Adam;
using OptimizerHelper = TorchSharp.Modules.OptimizerHelper;
using Parameter = TorchSharp.Modules.Parameter;

namespace UNet.Segmentation.Training;

/// <summary>
/// Trains a <see cref="UNetModel"/> as the reference does (Adam, Dice + cross-entropy, coupled
/// L2), with mixed precision, checkpoints, exact resume, logging and cancellation. Made with
/// <c>Trainer.For(model)...Build()</c>. Runs synchronously on the calling thread (dispose scopes
/// and the working copy's training mode belong to it); batches are prepared on a background thread.
/// Unless <see cref="TrainerOptions.KeepFreedMemory"/> is false, building a trainer turns on
/// <see cref="FreedMemoryReuse"/> for the whole process. With
/// <see cref="TrainerBuilder.WithDataParallel"/> it is one rank of a data-parallel job over MPI
/// (and NCCL for CUDA tensors): see docs/data-parallel.md.
/// </summary>
public sealed class Trainer : IDisposable
{
    private readonly ILogger _logger;
    private readonly IReadOnlyList<Parameter> _parameters;
    private readonly OptimizerHelper _optimizer;
    private readonly LossFunction _loss;
    private readonly LossScaler _scaler;
    private readonly DataParallel? _parallel;
    private readonly IReadOnlyList<ITrainingCallback> _callbacks, _schedules;
    private readonly ILearningRateSchedule? _learningRates;
    private readonly MixedPrecisionModel? _mixed;
    private readonly UNetModel? _model;
    private readonly Evaluator? _evaluator;

    internal Trainer(ITrainableNetwork network, UNetModel? model, TrainerOptions options, TrainerParts parts)
    {
        Network = network;
        _model = model;
        Options = options;
        _logger = parts.Logger ?? NullLogger.Instance;
        if (options.KeepFreedMemory) FreedMemoryReuse.Enable();
        // Move first: the optimizer's state is made beside the parameters it is given.
        if (options.Device.type != DeviceType.CPU) network.Module.to(options.Device);
        _parameters = network.Module.parameters().ToList();
        // The coupled L2 term is part of the loss (Losses.L2), so the default Adam itself decays nothing.
        _optimizer = parts.Optimizer?.Invoke(_parameters)
            ?? torch.optim.Adam(_parameters, options.LearningRate, options.Beta1, options.Beta2, options.Epsilon, weight_decay: 0);
        if (_optimizer is null) throw new ArgumentException("the optimizer factory returned null", nameof(parts));
        (_loss, LossName) = parts.Loss is { } own ? (own, parts.LossName ?? "custom")
            : model is not null ? (BuiltInLoss(options.Loss), options.Loss.ToString()) : (network.DefaultLoss, network.DefaultLossName);
        _scaler = new LossScaler(enabled: options.Precision == Precision.Float16);
        try
        {
            // The model stays the float32 master the optimizer steps; forward and backward run on this copy.
            if (model is not null)
            {
                _mixed = options.Precision.WorkingCopy(model);
                _evaluator = new Evaluator(model, new EvaluatorOptions { BatchSize = options.BatchSize, Precision = options.Precision, Device = options.Device, Data = options.Data }, _mixed);
            }
            else if (options.Precision.ComputeType() is { } computeType)
            {
                // The nnU-Net's copy: convolutions in the compute type, instance norms float32, and the
                // 3-D convolutions libtorch's bfloat16 weight gradient gets wrong computed in float32.
                _mixed = network.Module is NnUNetModel nnunet ? new MixedPrecisionModel(nnunet, computeType)
                    : throw new NotSupportedException($"{options.Precision} training needs a UNetModel or an NnUNetModel, not a {network.Module.GetType().Name}");
            }
            if (parts.World is not null)
                _parallel = new DataParallel(parts.World, options.DataParallel ?? new DataParallelOptions(), options.Device, _logger);
        }
        catch
        {
            _mixed?.Dispose();
            _optimizer.Dispose();
            throw;
        }
        if (_parallel is not null)
        {
            _logger.LogInformation("rank {Rank}: world size {WorldSize} over {Engine}", Rank, WorldSize, _parallel.Engine);
        }
        _callbacks = [.. BuiltInObservers(options, _logger), .. parts.Callbacks];
        _schedules = [.. BuiltInSchedules(options)];
        _learningRates = options.ScheduleFor(StepsPerRank);
    }

    /// <summary>The optimizer (Adam with the reference's settings unless <see cref="TrainerBuilder.WithOptimizer"/> chose another).</summary>
    public OptimizerHelper Optimizer => _optimizer;

    /// <summary>The training loss's name: a <see cref="LossKind"/>, or the name given with a loss of your own.</summary>
    public string LossName { get; }

    /// <summary>The evaluator the fit's evaluations use (same batch size, precision, device and preprocessing); a U-Net trainer's alone.</summary>
    /// <exception cref="InvalidOperationException">This trainer trains another network than a <see cref="UNetModel"/>.</exception>
    public Evaluator Evaluator => _evaluator ?? throw new InvalidOperationException($"this trainer trains a {Network.Module.GetType().Name}: the Evaluator is the U-Net's");

    /// <summary>The callbacks of every fit: the built-in log and metrics file, yours, then the built-in checkpoint and evaluation schedules.</summary>
    public IReadOnlyList<ITrainingCallback> Callbacks => [.. _callbacks, .. _schedules];

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

    /// <summary>Starts the fluent configuration of an nnU-Net's training (fit it with <see cref="Fit(MsdTrainingData, FoldSplit, bool, CancellationToken)"/>; mixed precision as for the U-Net, see docs/nnunet-training.md).</summary>
    public static TrainerBuilder For(NnUNetModel model) => new(model);

    /// <summary>The model being trained (not owned: the caller disposes it). Its weights stay float32 in every precision: they are the master weights the optimizer steps.</summary>
    /// <exception cref="InvalidOperationException">This trainer trains another network (see <see cref="Network"/>).</exception>
    public UNetModel Model => _model ?? throw new InvalidOperationException($"this trainer trains a {Network.Module.GetType().Name}, not a UNetModel: use Trainer.Network");

    /// <summary>The network being trained, whichever it is (not owned).</summary>
    public ITrainableNetwork Network { get; }

    /// <summary>
    /// With <see cref="Precision.BFloat16"/> or <see cref="Precision.Float16"/>, the working copy
    /// that runs forward and backward in the compute type (owned by the trainer, refreshed from
    /// <see cref="Model"/> after every optimizer step); null in float32.
    /// </summary>
    public MixedPrecisionModel? WorkingCopy => _mixed;

    /// <summary>The validated options.</summary>
    public TrainerOptions Options { get; }

    /// <summary>
    /// Trains on <paramref name="fold"/>'s training slices up to <see cref="TrainerOptions.MaxSteps"/>,
    /// resuming from the newest checkpoint when <paramref name="resume"/> and one exists (weights,
    /// optimizer state, generator, loss scale and data position, so the run continues exactly as
    /// an unbroken one), and evaluates on its validation slices at the end. Every step, evaluation
    /// and checkpoint goes through the callbacks (<see cref="TrainerBuilder.WithCallback"/>; the
    /// logging, metrics file, evaluation schedule and checkpoints are built-in ones). Cancelling,
    /// a callback's <see cref="TrainingContext.RequestStop"/> or a callback's exception ends the
    /// fit after the current step with the checkpoint of that step written (when a folder is set);
    /// the exception is then rethrown. Data-parallel: every rank calls it with the same arguments;
    /// rank 0 alone reads the checkpoint folder (its state is broadcast; a checkpoint of another
    /// world size resumes at the same number of samples seen), logs, evaluates and writes
    /// checkpoints; every rank stops at the same step; the other ranks return an empty history. A
    /// rank that hangs makes the watchdog abort the job after <see cref="DataParallelOptions.Timeout"/>.
    /// A split without validation items (<see cref="FoldSplit.All"/>: no fold) evaluates nothing:
    /// with it, an evaluation schedule (<see cref="TrainerOptions.EvaluateEvery"/>), challenge
    /// scores, <see cref="KeepBest"/> or <see cref="EarlyStopping"/> is refused before anything
    /// runs, in one <see cref="OptionsValidationException"/> naming them.
    /// </summary>
    public TrainingResult Fit(SegmentationData data, FoldSplit fold, bool resume = true, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        return Fit(new SegmentationTrainingData(data), fold, resume, cancellation);
    }

    /// <summary>
    /// As <see cref="Fit(SegmentationData, FoldSplit, bool, CancellationToken)"/> on 3-D MSD
    /// cases (<paramref name="fold"/> from <c>MsdFolds.Split</c> indexes them): the same loop,
    /// callbacks, checkpoints and exact resume; evaluations are <see cref="MsdTrainingData"/>'s.
    /// </summary>
    public TrainingResult Fit(MsdTrainingData data, FoldSplit fold, bool resume = true, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        return Fit((ITrainingData)data, fold, resume, cancellation);
    }

    private TrainingResult Fit(ITrainingData data, FoldSplit fold, bool resume, CancellationToken cancellation)
    {
        data.CheckFits(Network);
        ArgumentNullException.ThrowIfNull(fold);
        OptionsValidationException.ThrowIfAny(NeedsValidation(fold), "trainer options for a fit without validation items");
        var clock = Stopwatch.StartNew();
        var callbacks = new CallbackList(_callbacks, _schedules, IsMainRank);
        var context = new TrainingContext(this, data, fold, callbacks, cancellation);
        long nextBatch = Start(context, resume);
        _mixed?.Refresh(); // the master may have been restored, broadcast or changed since the last fit
        using var loader = data.Batches(fold.Training, Options, Rank, WorldSize, nextBatch, cancellation);
        context.NextBatch = () => loader.NextBatch;
        callbacks.FitStart(context);
        var log = new LogWindow(context.Step, Options.BatchSize * WorldSize);
        bool cancelled = false;
        Network.Module.train();
        _mixed?.WorkingModule.train();
        while (context.Step < context.MaxSteps && callbacks.Failure is null && context.StopReason is null)
        {
            var stepClock = Stopwatch.StartNew();
            // Data-parallel ranks leave together (below), so only a single process stops waiting for a batch.
            if (Take(loader, _parallel is null ? cancellation : CancellationToken.None) is not { } batch) { cancelled = true; break; }
            using (batch)
            using (var scope = NewDisposeScope())
            {
                double lr = SetLearningRate(context.Step);
                if (_parallel is not null) _parallel.Step = context.Step + 1;
                var (loss, logits, labels) = TrainStep(batch, out bool applied);
                context.Step++;
                var step = new TrainingStep(context.Step, context.MaxSteps, lr, Options.BatchSize * WorldSize / Math.Max(stepClock.Elapsed.TotalSeconds, 1e-9),
                    _scaler.CurrentScale, !applied, loss, logits, labels, Network.StepDice);
                if (Options.LogEvery > 0 && context.Step % Options.LogEvery == 0) step.Logged = log.Record(step, _parallel);
                if (step.Logged is { } record && IsMainRank) context.AddLogged(record);
                callbacks.StepEnd(context, step);
            }
            cancelled = cancellation.IsCancellationRequested;
            if (cancelled && _parallel is null) break;
            // Every rank stops at the same step: when any was cancelled, failed or asked to stop.
            if (_parallel is not null && _parallel.Any(cancelled || callbacks.Failure is not null || context.StopReason is not null, "the stop decision"))
            {
                cancelled = _parallel.Any(cancelled, "the cancellation");
                if (!cancelled && callbacks.Failure is null) context.RequestStop("another rank stopped the fit");
                break;
            }
        }
        // Leave together, before rank 0's last checkpoint and evaluation, which the others need not wait for.
        if (_parallel is not null)
        {
            _parallel.Step = null;
            _parallel.Barrier("end of training");
        }
        var summary = new FitSummary(context.Step, context.Step >= context.MaxSteps, cancelled, context.StopReason, callbacks.Failure?.SourceException, clock.Elapsed);
        callbacks.FitEnd(context, summary);
        foreach (var file in _callbacks.OfType<MetricsFileCallback>()) file.Dispose();
        callbacks.ThrowIfFailed();
        return context.Result(summary.Completed, summary.StopReason, clock.Elapsed);
    }

    /// <summary>The options and callbacks that need validation items, when <paramref name="fold"/> has none; each names itself.</summary>
    private List<string> NeedsValidation(FoldSplit fold)
    {
        var problems = new List<string>();
        if (fold.Validation.Count > 0) return problems;
        string why = fold.IsAll ? "the split is no fold (FoldSplit.All: every item trains)" : "the split has no validation items";
        if (Options.EvaluateEvery > 0) problems.Add($"{nameof(TrainerOptions.EvaluateEvery)} {Options.EvaluateEvery} evaluates on validation items: {why}; use 0");
        if (Options.ChallengeScores) problems.Add($"{nameof(TrainerOptions.ChallengeScores)} scores the validation items: {why}");
        foreach (var c in _callbacks)
            if (c is KeepBest or EarlyStopping) problems.Add($"{c.GetType().Name} watches a validation metric: {why}");
        return problems;
    }

    /// <summary>The next batch, or null when <paramref name="cancellation"/> fired while waiting.</summary>
    private static TrainingBatch? Take(ITrainingBatchSource loader, CancellationToken cancellation)
    {
        try
        {
            return loader.Take(cancellation);
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            return null;
        }
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
        ArgumentNullException.ThrowIfNull(data);
        Evaluator.CheckFits(Model, data);
        return Benchmark(new SegmentationTrainingData(data), fold, warmupSteps, steps);
    }

    /// <summary>
    /// As <see cref="Benchmark(SegmentationData, FoldSplit, int, int)"/> on MSD patches (an nnU-Net's
    /// training steps, deep supervision and augmentation included): the report's images are patches
    /// (3-D volumes or 2-D slices), so its throughput is patches/s.
    /// </summary>
    public BenchmarkReport Benchmark(MsdTrainingData data, FoldSplit fold, int warmupSteps, int steps)
    {
        ArgumentNullException.ThrowIfNull(data);
        return Benchmark((ITrainingData)data, fold, warmupSteps, steps);
    }

    private BenchmarkReport Benchmark(ITrainingData data, FoldSplit fold, int warmupSteps, int steps)
    {
        data.CheckFits(Network);
        ArgumentNullException.ThrowIfNull(fold);
        ArgumentOutOfRangeException.ThrowIfNegative(warmupSteps);
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        using var loader = data.Batches(fold.Training, Options, Rank, WorldSize, 0, CancellationToken.None);
        Network.Module.train();
        _mixed?.WorkingModule.train();
        _mixed?.Refresh();
        var times = new List<double>(warmupSteps + steps);
        for (int i = 0; i < warmupSteps + steps; i++)
        {
            using var batch = loader.Take(CancellationToken.None);
            using var scope = NewDisposeScope();
            var clock = Stopwatch.StartNew();
            var (loss, _, _) = TrainStep(batch, out _);
            loss.item<float>(); // synchronises, as the reference's per-step timestamps do
            times.Add(clock.Elapsed.TotalSeconds);
        }
        return BenchmarkReport.FromStepTimes("train", Options.BatchSize * WorldSize, warmupSteps, times) with { Precision = Options.Precision };
    }

    /// <summary>Metrics of the model on <paramref name="slices"/> through <see cref="Evaluator"/> (no augmentation, inference mode, evaluation mode).</summary>
    public SegmentationMetrics Evaluate(SegmentationData data, IReadOnlyList<int> slices) => Evaluator.Evaluate(data, slices);

    /// <summary>
    /// One optimizer step on <paramref name="batch"/>: gradients dropped, forward, the loss (+ the
    /// coupled L2 term), backward (of the scaled loss with float16), and the optimizer's step
    /// unless the loss scaler skips it for non-finite gradients. Returns the loss, logits and
    /// labels, owned by the caller's dispose scope. In mixed precision the forward and backward
    /// run on the working copy (input cast once, logits cast once to float32), its gradients go
    /// to the float32 master weights before the all-reduce, the scaler and the optimizer see
    /// them, and the copy is refreshed from the masters after the step: no cast per layer.
    /// </summary>
    private (Tensor Loss, Tensor Logits, Tensor Labels) TrainStep(TrainingBatch batch, out bool applied)
    {
        _optimizer.zero_grad();
        var images = OnDevice(batch.Images);
        var labels = OnDevice(batch.Labels);
        Tensor forLoss, logits;
        if (_mixed is null) (forLoss, logits) = Network.TrainingForward(images);
        else if (_model is not null) forLoss = logits = _mixed.Forward(images, float32Logits: true);
        else (forLoss, logits) = _mixed.TrainingForward(images);
        var loss = ComputeLoss(forLoss, labels);
        if (Options.WeightDecay > 0)
        {
            using var l2 = Losses.L2(_parameters, Options.WeightDecay);
            loss = loss.Plus(l2);   // held alpha (Runtime/HeldScalars.cs)
        }
        if (_scaler.Enabled)
        {
            using (var scaled = _scaler.Scale(loss)) scaled.backward();
            _mixed?.GradientsToMaster();
            _parallel?.AverageGradients(_parameters);
            bool finite = _scaler.UnscaleAndCheck(_parameters);
            // Every rank takes the same decision: skip when any rank saw a non-finite gradient.
            if (_parallel is not null) finite = !_parallel.Any(!finite, "the loss scaler's overflow check");
            if (finite) _optimizer.step();
            if (finite) _mixed?.Refresh();
            _scaler.Update(finite);
            applied = finite;
        }
        else
        {
            loss.backward();
            _mixed?.GradientsToMaster();
            _parallel?.AverageGradients(_parameters);
            _optimizer.step();
            _mixed?.Refresh();
            applied = true;
        }
        return (loss, logits, labels);
    }

    /// <summary>The loss on float32 logits, checked to be a floating-point scalar (a loss of your own may return anything).</summary>
    private Tensor ComputeLoss(Tensor logits, Tensor labels)
    {
        var loss = _loss(logits.dtype == ScalarType.Float32 ? logits : logits.to(ScalarType.Float32), labels);
        if (loss is null) throw new InvalidOperationException($"the loss '{LossName}' returned null");
        if (loss.dim() != 0 || !is_floating_point(loss.dtype))
            throw new InvalidOperationException($"the loss '{LossName}' must return a floating-point scalar; it returned {loss.dtype} of shape [{string.Join(", ", loss.shape)}]");
        return loss;
    }

    private static LossFunction BuiltInLoss(LossKind kind) => (logits, labels) => Losses.Compute(kind, logits, labels);

    private static IEnumerable<ITrainingCallback> BuiltInObservers(TrainerOptions options, ILogger logger)
    {
        yield return new LoggingCallback(logger);
        if (options.MetricsFile is { } file) yield return new MetricsFileCallback(file);
    }

    private static IEnumerable<ITrainingCallback> BuiltInSchedules(TrainerOptions options)
    {
        if (options.CheckpointDirectory is not null) yield return new CheckpointScheduleCallback();
        yield return new EvaluationScheduleCallback();
    }

    /// <summary>The learning rate of step <paramref name="step"/>: the schedule's (<see cref="TrainerOptions.ScheduleFor"/>), set on every group, or else the optimizer's own.</summary>
    private double SetLearningRate(long step)
    {
        if (_learningRates is null) return _optimizer.ParamGroups.First().LearningRate;
        double lr = _learningRates.At(step);
        foreach (var group in _optimizer.ParamGroups) group.LearningRate = lr;
        return lr;
    }

    private Tensor OnDevice(Tensor t) => Options.Device.type == DeviceType.CPU ? t : t.to(Options.Device);

    /// <summary>Writes a checkpoint of the current weights, optimizer and run state to <paramref name="path"/> (atomically).</summary>
    internal string SaveCheckpoint(string path, long step, long nextBatch, FoldSplit fold, IReadOnlyDictionary<string, string>? metadata) =>
        Checkpoints.SaveAs(path, Network, _optimizer, new CheckpointState(step, nextBatch, _scaler.State, Options.Seed, WorldSize) { Fold = fold.Name }, metadata);

    /// <summary>
    /// Where the fit starts: rank 0 resumes from the newest checkpoint (when asked and there is
    /// one) or seeds the generator; with data parallelism every rank then takes rank 0's start.
    /// Returns the index of the next training batch.
    /// </summary>
    private long Start(TrainingContext context, bool resume)
    {
        long step = 0, nextBatch = 0;
        bool resumed = false;
        if (IsMainRank && resume && Options.CheckpointDirectory is { } dir && Checkpoints.Latest(dir) is { } latest)
        {
            var saved = Checkpoints.Restore(latest, Network, _optimizer);
            var state = saved.AtWorldSize(WorldSize);
            (step, nextBatch, resumed) = (state.Step, state.NextBatch, true);
            _scaler.Restore(state.Scaler);
            (context.ResumedFrom, context.LastCheckpoint, context.LastCheckpointStep) = (latest, latest, saved.WorldSize == WorldSize ? step : -1);
            if (saved.WorldSize == WorldSize) _logger.LogInformation("Resumed from {Checkpoint} at step {Step}", latest, step);
            else _logger.LogInformation("Resumed from {Checkpoint} at step {Step} (written by {Ranks} rank(s); now {WorldSize})", latest, step, saved.WorldSize, WorldSize);
            if (saved.Fold is { } fold && fold != context.Fold.Name)
                _logger.LogWarning("{Checkpoint} was trained on fold {Saved}; this fit's fold is {Fold}: its validation items may have been trained on", latest, fold, context.Fold.Name);
            if (!saved.OptimizerRestored)
                _logger.LogWarning("{Checkpoint} holds no optimizer state (TorchSharp cannot save {Optimizer}'s): the optimizer starts afresh, so this run does not continue exactly", latest, OptimizerStates.TypeName(_optimizer));
        }
        else
        {
            manual_seed(Options.Seed);
        }
        if (_parallel is not null) (step, nextBatch) = SynchronizeStart(step, nextBatch, resumed);
        (context.StartStep, context.Step, context.Resumed) = (step, step, resumed);
        return nextBatch;
    }

    /// <summary>
    /// Makes every rank start where rank 0 starts: its step, data position and loss scale, then its
    /// weights (parameters and buffers) and the optimizer's state. The other ranks seed their
    /// generator from (seed, rank, step), so that their dropout differs from rank 0's.
    /// </summary>
    private (long Step, long NextBatch) SynchronizeStart(long step, long nextBatch, bool resumed)
    {
        var p = _parallel!;
        var s = _scaler.State;
        var adam = _optimizer as Adam;
        var states = adam is null ? [] : Checkpoints.AdamStates(adam);
        long[] position = [step, nextBatch, BitConverter.DoubleToInt64Bits(s.Scale), s.GoodSteps, s.SkippedSteps, resumed ? 1 : 0, .. states.Select(a => a.step)];
        position = p.BroadcastFromMain(position, "the start position");
        if (!IsMainRank)
        {
            (step, nextBatch) = (position[0], position[1]);
            if (position[5] != 0) _scaler.Restore(new LossScalerState(BitConverter.Int64BitsToDouble(position[2]), (int)position[3], position[4]));
            for (int i = 0; i < states.Count; i++) states[i].step = position[6 + i];
            manual_seed(Seeds.Mix(Options.Seed, Rank, step));
        }
        p.BroadcastFromMain(Network.Module.state_dict().Values, "the weights");
        if (adam is not null)
            p.BroadcastFromMain(states.SelectMany(a => a.max_exp_avg_sq is { } m ? new[] { a.exp_avg, a.exp_avg_sq, m } : [a.exp_avg, a.exp_avg_sq]), "Adam's state");
        else if (position[5] != 0)
            BroadcastOptimizerState(p);
        return (step, nextBatch);
    }

    /// <summary>Another optimizer's resumed state, in TorchSharp's binary form, from rank 0 to the others.</summary>
    private void BroadcastOptimizerState(DataParallel p)
    {
        byte[] bytes = IsMainRank ? OptimizerStates.Serialize(_optimizer) : [];
        long length = p.BroadcastFromMain([bytes.LongLength], "the optimizer state's size")[0];
        using var blob = IsMainRank ? tensor(bytes, ScalarType.Byte) : zeros(length, ScalarType.Byte);
        p.BroadcastFromMain([blob], "the optimizer state");
        if (!IsMainRank) OptimizerStates.Deserialize(_optimizer, blob.data<byte>().ToArray());
    }

    /// <summary>Frees the optimizer state and the data-parallel buffers (the model stays the caller's; the MPI world the application's).</summary>
    public void Dispose()
    {
        _parallel?.Dispose();
        _optimizer.Dispose();
        _mixed?.Dispose();
        foreach (var c in _callbacks.OfType<MetricsFileCallback>()) c.Dispose();
    }
}

/// <summary>The throughput window of the logged steps, and the job-wide loss and Dice of each logged step.</summary>
internal sealed class LogWindow(long startStep, int imagesPerStep)
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private long _start = startStep;

    /// <summary>The logged record of <paramref name="step"/>; data-parallel, every rank calls it on the same steps (the means are collective).</summary>
    public StepRecord Record(TrainingStep step, DataParallel? parallel)
    {
        double seconds = Math.Max(_clock.Elapsed.TotalSeconds, 1e-9);
        double loss = step.Loss, dice = step.Dice;
        if (parallel is not null)
        {
            // Every rank logs on the same steps: the job's loss and Dice are the means over the ranks.
            var mean = parallel.Average([loss, dice], "the logged loss and Dice");
            (loss, dice) = (mean[0], mean[1]);
        }
        double imagesPerSecond = (step.Step - _start) * imagesPerStep / seconds;
        _clock.Restart();
        _start = step.Step;
        return new StepRecord(step.Step, loss, step.LearningRate, imagesPerSecond, step.LossScale, step.Skipped, dice);
    }
}
