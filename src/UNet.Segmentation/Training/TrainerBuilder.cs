using Microsoft.Extensions.Logging;
using UNet.Segmentation.Data;
using UNet.Segmentation.Distributed;
using UNet.Segmentation.Distributed.Mpi;
using UNet.Segmentation.Model;
using static TorchSharp.torch;

namespace UNet.Segmentation.Training;

/// <summary>Fluent configuration of a <see cref="Trainer"/>; <see cref="Build"/> validates everything at once.</summary>
public sealed class TrainerBuilder
{
    private readonly UNetModel _model;
    private TrainerOptions _options = new();
    private ILogger? _logger;
    private MpiWorld? _world;

    internal TrainerBuilder(UNetModel model) => _model = model ?? throw new ArgumentNullException(nameof(model));

    /// <summary>Replaces every option at once.</summary>
    public TrainerBuilder WithOptions(TrainerOptions options)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        return this;
    }

    /// <summary>Adam's hyper-parameters.</summary>
    public TrainerBuilder WithAdam(double learningRate, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-7) =>
        Set(o => o with { LearningRate = learningRate, Beta1 = beta1, Beta2 = beta2, Epsilon = epsilon });

    /// <summary>The coupled L2 weight decay (0 disables it).</summary>
    public TrainerBuilder WithWeightDecay(double weightDecay) => Set(o => o with { WeightDecay = weightDecay });

    /// <summary>A learning-rate schedule over steps.</summary>
    public TrainerBuilder WithSchedule(ILearningRateSchedule schedule) => Set(o => o with { Schedule = schedule });

    /// <summary>Steps and batch size.</summary>
    public TrainerBuilder WithSteps(long maxSteps, int batchSize = 8) => Set(o => o with { MaxSteps = maxSteps, BatchSize = batchSize });

    /// <summary>The seed of data order, augmentation and dropout.</summary>
    public TrainerBuilder WithSeed(int seed) => Set(o => o with { Seed = seed });

    /// <summary>The training loss.</summary>
    public TrainerBuilder WithLoss(LossKind loss) => Set(o => o with { Loss = loss });

    /// <summary>Preprocessing and augmentation.</summary>
    public TrainerBuilder WithData(DataOptions data) => Set(o => o with { Data = data });

    /// <summary>Augmentation on or off.</summary>
    public TrainerBuilder WithAugmentation(bool augment) => Set(o => o with { Data = o.Data with { Augment = augment } });

    /// <summary>bfloat16 mixed precision, or float16 mixed precision with dynamic loss scaling (CUDA).</summary>
    public TrainerBuilder WithMixedPrecision(Precision precision) => Set(o => o with { Precision = precision });

    /// <summary>The device to train on.</summary>
    public TrainerBuilder OnDevice(Device device) => Set(o => o with { Device = device });

    /// <summary>Checkpoints every <paramref name="every"/> steps into <paramref name="directory"/>, keeping the newest <paramref name="keepLast"/>; a later <see cref="Trainer.Fit"/> resumes from the newest.</summary>
    public TrainerBuilder WithCheckpoints(string directory, int every = 500, int keepLast = 3) =>
        Set(o => o with { CheckpointDirectory = directory, CheckpointEvery = every, KeepLast = keepLast });

    /// <summary>Log and evaluation intervals, and an optional JSON-lines metrics file.</summary>
    public TrainerBuilder WithLogging(int logEvery, int evaluateEvery = 0, string? metricsFile = null) =>
        Set(o => o with { LogEvery = logEvery, EvaluateEvery = evaluateEvery, MetricsFile = metricsFile });

    /// <summary>Where progress goes.</summary>
    public TrainerBuilder WithLogger(ILogger logger)
    {
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        return this;
    }

    /// <summary>
    /// Makes the trainer one rank of <paramref name="world"/>'s data-parallel job (start it with
    /// <c>mpirun -np N</c>; see docs/data-parallel.md): rank 0's state is broadcast at the start,
    /// gradients are averaged over the ranks every step (MPI for CPU tensors, NCCL for CUDA ones),
    /// each rank reads its own share of the data, <see cref="TrainerOptions.MaxSteps"/> is divided
    /// by the world size, and rank 0 alone logs, evaluates and writes checkpoints.
    /// <paramref name="options"/> null: <see cref="DataParallelOptions.FromEnvironment"/>.
    /// </summary>
    public TrainerBuilder WithDataParallel(MpiWorld world, DataParallelOptions? options = null)
    {
        _world = world ?? throw new ArgumentNullException(nameof(world));
        var chosen = options ?? DataParallelOptions.FromEnvironment();
        return Set(o => o with { DataParallel = chosen });
    }

    /// <summary>
    /// Validates the configuration (every problem listed in one <see cref="ArgumentException"/>)
    /// and makes the trainer (which moves the model to <see cref="TrainerOptions.Device"/>).
    /// </summary>
    public Trainer Build()
    {
        var problems = _options.Validate().ToList();
        if (_options.Data.InputSize != _model.Options.InputSize)
            problems.Add($"Data.InputSize {_options.Data.InputSize} differs from the model's input size {_model.Options.InputSize}");
        else if (_options.Data.OutputSize != _model.OutputSize(_model.Options.InputSize))
            problems.Add($"Data.OutputSize {_options.Data.OutputSize} differs from the model's output size {_model.OutputSize(_model.Options.InputSize)}");
        if (problems.Count > 0) throw new ArgumentException("Invalid trainer configuration: " + string.Join("; ", problems), "options");
        return new Trainer(_model, _options, _logger, _world);
    }

    private TrainerBuilder Set(Func<TrainerOptions, TrainerOptions> change)
    {
        _options = change(_options);
        return this;
    }
}
