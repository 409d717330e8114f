using Microsoft.Extensions.Logging;
using UNet.Segmentation.Data;
using UNet.Segmentation.Distributed;
using UNet.Segmentation.Distributed.Mpi;
using UNet.Segmentation.Model;
using UNet.Segmentation.Model.NnUNet;
using UNet.Segmentation.Runtime;
using UNet.Segmentation.Training.Callbacks;
using static TorchSharp.torch;

namespace UNet.Segmentation.Training;

/// <summary>Fluent configuration of a <see cref="Trainer"/>; <see cref="Build"/> validates everything at once.</summary>
public sealed class TrainerBuilder
{
    private readonly UNetModel? _model;
    private readonly ITrainableNetwork _network;
    private TrainerOptions _options = new();
    private ILogger? _logger;
    private MpiWorld? _world;
    private OptimizerFactory? _optimizer;
    private LossFunction? _loss;
    private string? _lossName;
    private readonly List<ITrainingCallback> _callbacks = [];
    // True while the precision is a recipe's: Build then runs a recipe's bfloat16 in float32 on a
    // CPU without bfloat16 instructions (CpuBFloat16.ForDevice); a precision asked for by name stays.
    private bool _precisionFromRecipe;

    internal TrainerBuilder(UNetModel model)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        _network = TrainableNetwork.Of(model);
    }

    internal TrainerBuilder(NnUNetModel model) => _network = TrainableNetwork.Of(model ?? throw new ArgumentNullException(nameof(model)));

    /// <summary>Replaces every option at once.</summary>
    public TrainerBuilder WithOptions(TrainerOptions options)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _precisionFromRecipe = false;
        return this;
    }

    /// <summary>Adam's hyper-parameters (the default optimizer; <see cref="WithOptimizer"/> replaces it).</summary>
    public TrainerBuilder WithAdam(double learningRate, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-7) =>
        Set(o => o with { LearningRate = learningRate, Beta1 = beta1, Beta2 = beta2, Epsilon = epsilon });

    /// <summary>The coupled L2 weight decay (0 disables it).</summary>
    public TrainerBuilder WithWeightDecay(double weightDecay) => Set(o => o with { WeightDecay = weightDecay });

    /// <summary>A learning-rate schedule over steps (it replaces <see cref="WithLearningRateDecay"/>'s warm-up and decay).</summary>
    public TrainerBuilder WithSchedule(ILearningRateSchedule schedule) => Set(o => o with { Schedule = schedule });

    /// <summary>
    /// The learning rate's decay over the fit's steps and a linear warm-up of
    /// <paramref name="warmupSteps"/> steps (0: none), made of <see cref="TrainerOptions.LearningRate"/>
    /// when the trainer is built, so a later <see cref="WithSteps"/> or <see cref="WithAdam"/> counts
    /// (see <see cref="TrainerOptions.LearningRateDecay"/>). A schedule of your own set with
    /// <see cref="WithSchedule"/> replaces them; this clears it.
    /// </summary>
    public TrainerBuilder WithLearningRateDecay(LearningRateDecay decay, long warmupSteps = 0) =>
        Set(o => o with { LearningRateDecay = decay, LearningRateWarmupSteps = warmupSteps, Schedule = null });

    /// <summary>
    /// Every value of <paramref name="recipe"/> that a trainer holds: learning rate (Adam's β and ε
    /// stay), its warm-up and decay (clearing a schedule set before), steps, batch size, precision,
    /// augmentation, the loader's prefetched batches and the log interval. Later calls override
    /// each (<c>.WithRecipe(TrainingRecipes.CpuFast).WithSteps(600, 2)</c>); the recipe's filters go
    /// into the model's options (<see cref="TrainingRecipe.ApplyTo(UNetOptions)"/>). The recipe is
    /// validated here (an <see cref="OptionsValidationException"/> listing every problem). A recipe's
    /// bfloat16 runs in float32 on a CPU without bfloat16 instructions (<see cref="CpuBFloat16"/>;
    /// the logger says so at <see cref="Build"/>); <see cref="WithMixedPrecision"/> after it keeps
    /// what it names.
    /// </summary>
    public TrainerBuilder WithRecipe(TrainingRecipe recipe)
    {
        ArgumentNullException.ThrowIfNull(recipe);
        OptionsValidationException.ThrowIfAny(recipe.Validate(), $"recipe '{recipe.Name}'");
        _precisionFromRecipe = true;
        return Set(o => o with
        {
            LearningRate = recipe.LearningRate,
            LearningRateWarmupSteps = recipe.LearningRateWarmupSteps,
            LearningRateDecay = recipe.LearningRateDecay,
            Schedule = null,
            MaxSteps = recipe.MaxSteps,
            BatchSize = recipe.BatchSize,
            Precision = recipe.Precision,
            Data = o.Data with { Augment = recipe.Augment, PrefetchBatches = recipe.PrefetchBatches },
            LogEvery = recipe.LogEvery,
        });
    }

    /// <summary>Steps and batch size.</summary>
    public TrainerBuilder WithSteps(long maxSteps, int batchSize = 8) => Set(o => o with { MaxSteps = maxSteps, BatchSize = batchSize });

    /// <summary>The seed of data order, augmentation and dropout.</summary>
    public TrainerBuilder WithSeed(int seed) => Set(o => o with { Seed = seed });

    /// <summary>A built-in training loss (replacing a loss of your own set before).</summary>
    public TrainerBuilder WithLoss(LossKind loss)
    {
        (_loss, _lossName) = (null, null);
        return Set(o => o with { Loss = loss });
    }

    /// <summary>
    /// A training loss of your own (logits, labels → scalar); <paramref name="name"/> names it in
    /// logs. The coupled L2 term is still added unless <see cref="WithWeightDecay"/>(0).
    /// </summary>
    public TrainerBuilder WithLoss(LossFunction loss, string name = "custom")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        (_loss, _lossName) = (loss ?? throw new ArgumentNullException(nameof(loss)), name);
        return this;
    }

    /// <summary>
    /// Any TorchSharp optimizer instead of Adam, made over the model's parameters, e.g.
    /// <c>p =&gt; torch.optim.SGD(p, 0.01, momentum: 0.9)</c>. Its learning rate is its own unless
    /// a schedule is set (<see cref="WithSchedule"/>), which then sets every group's rate each
    /// step. Checkpoints hold its state in TorchSharp's binary form (see docs/training-loop.md).
    /// </summary>
    public TrainerBuilder WithOptimizer(OptimizerFactory factory)
    {
        _optimizer = factory ?? throw new ArgumentNullException(nameof(factory));
        return this;
    }

    /// <summary>
    /// Adds a callback (run after the built-in ones, in the order added; rank 0 only unless it
    /// says <see cref="ITrainingCallback.OnEveryRank"/>): your own, or <see cref="EarlyStopping"/>,
    /// <see cref="KeepBest"/>, <see cref="TensorBoardCallback"/>, and <c>TrainingCurves</c> (UNet.Segmentation.Plotting).
    /// </summary>
    public TrainerBuilder WithCallback(ITrainingCallback callback)
    {
        _callbacks.Add(callback ?? throw new ArgumentNullException(nameof(callback)));
        return this;
    }

    /// <summary>Preprocessing and augmentation.</summary>
    public TrainerBuilder WithData(DataOptions data) => Set(o => o with { Data = data });

    /// <summary>Augmentation on or off.</summary>
    public TrainerBuilder WithAugmentation(bool augment) => Set(o => o with { Data = o.Data with { Augment = augment } });

    /// <summary>bfloat16 mixed precision, or float16 mixed precision with dynamic loss scaling (CUDA).</summary>
    /// <remarks>Named here, bfloat16 stays bfloat16 on any CPU, also one that emulates it (<see cref="CpuBFloat16"/>).</remarks>
    public TrainerBuilder WithMixedPrecision(Precision precision)
    {
        _precisionFromRecipe = false;
        return Set(o => o with { Precision = precision });
    }

    /// <summary>The device to train on.</summary>
    public TrainerBuilder OnDevice(Device device) => Set(o => o with { Device = device });

    /// <summary>Checkpoints every <paramref name="every"/> steps into <paramref name="directory"/>, keeping the newest <paramref name="keepLast"/>; a later <see cref="Trainer.Fit(UNet.Segmentation.Data.SegmentationData, UNet.Segmentation.Data.FoldSplit, bool, System.Threading.CancellationToken)"/> resumes from the newest.</summary>
    public TrainerBuilder WithCheckpoints(string directory, int every = 500, int keepLast = 3) =>
        Set(o => o with { CheckpointDirectory = directory, CheckpointEvery = every, KeepLast = keepLast });

    /// <summary>Log and evaluation intervals, and an optional JSON-lines metrics file.</summary>
    public TrainerBuilder WithLogging(int logEvery, int evaluateEvery = 0, string? metricsFile = null) =>
        Set(o => o with { LogEvery = logEvery, EvaluateEvery = evaluateEvery, MetricsFile = metricsFile });

    /// <summary>Each evaluation during a fit also scores the challenge's V_rand and V_info of the full-resolution maps (ISBI data; see <see cref="TrainerOptions.ChallengeScores"/>).</summary>
    public TrainerBuilder WithChallengeScores(bool on = true) => Set(o => o with { ChallengeScores = on });

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
    /// Validates the configuration (every problem listed in one <see cref="OptionsValidationException"/>)
    /// and makes the trainer (which moves the model to <see cref="TrainerOptions.Device"/>). The
    /// data's input and output sizes are the model's: they are set from it here.
    /// </summary>
    public Trainer Build()
    {
        var options = _model is null ? _options : _options with { Data = _options.Data.ForModel(_model) };
        if (_precisionFromRecipe && options.Device is not null && CpuBFloat16.ForDevice(options.Precision, options.Device) is var precision && precision != options.Precision)
        {
            _logger?.LogInformation("{Note}", CpuBFloat16.FallbackNote("the recipe's bfloat16"));
            options = options with { Precision = precision };
        }
        OptionsValidationException.ThrowIfAny(options.Validate(), "trainer options");
        return new Trainer(_network, _model, options, new TrainerParts(_logger, _world, _optimizer, _loss, _lossName, _callbacks.ToList()));
    }

    private TrainerBuilder Set(Func<TrainerOptions, TrainerOptions> change)
    {
        _options = change(_options);
        return this;
    }
}

/// <summary>What a trainer is given besides its options.</summary>
internal sealed record TrainerParts(ILogger? Logger, MpiWorld? World, OptimizerFactory? Optimizer, LossFunction? Loss, string? LossName, IReadOnlyList<ITrainingCallback> Callbacks)
{
    public static TrainerParts None { get; } = new(null, null, null, null, null, []);
}
