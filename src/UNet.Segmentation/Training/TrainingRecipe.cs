using System.Globalization;
using UNet.Segmentation.Model;

namespace UNet.Segmentation.Training;

/// <summary>
/// A named set of training values — model width, batch size, steps, learning rate with its
/// warm-up and decay, precision, augmentation, the loader's prefetch and the log interval — that
/// the CLI's <c>--recipe NAME</c> and C# share (<see cref="TrainingRecipes"/>). Apply it with
/// <see cref="TrainerBuilder.WithRecipe"/> and <see cref="ApplyTo(UNetOptions)"/>; every value can
/// still be overridden afterwards (a later builder call, a <c>with</c> expression, or the CLI's flag).
/// </summary>
public sealed record TrainingRecipe
{
    /// <summary>The name <see cref="TrainingRecipes.Find"/> and the CLI's <c>--recipe</c> know it by (kebab-case).</summary>
    public required string Name { get; init; }

    /// <summary>Filters of the U-Net's first level (<see cref="UNetOptions.BaseFilters"/>).</summary>
    public int BaseFilters { get; init; } = 64;

    /// <summary>Samples per step.</summary>
    public int BatchSize { get; init; } = 8;

    /// <summary>Optimizer steps.</summary>
    public long MaxSteps { get; init; } = 6400;

    /// <summary>Adam's learning rate (the peak of the warm-up and the start of the decay).</summary>
    public double LearningRate { get; init; } = 1e-4;

    /// <summary>Steps of the learning rate's linear warm-up (0: none; <see cref="TrainerOptions.LearningRateWarmupSteps"/>).</summary>
    public long LearningRateWarmupSteps { get; init; }

    /// <summary>How the learning rate falls over the steps (<see cref="TrainerOptions.LearningRateDecay"/>).</summary>
    public LearningRateDecay LearningRateDecay { get; init; } = LearningRateDecay.Constant;

    /// <summary>Numeric precision of training and prediction (bfloat16 runs on CPU and CUDA; float16 on CUDA only).</summary>
    public Precision Precision { get; init; } = Precision.Float32;

    /// <summary>
    /// Keep the U-Net channels-last (<see cref="UNetOptions.ChannelsLast"/>): a memory layout, not an
    /// architecture, so a checkpoint resumes and loads in either layout.
    /// </summary>
    public bool ChannelsLast { get; init; }

    /// <summary>Augment training batches (flips, crop-and-resize, brightness: <see cref="Data.DataOptions"/>).</summary>
    public bool Augment { get; init; }

    /// <summary>
    /// Batches the loader prepares ahead (<see cref="Data.DataOptions.PrefetchBatches"/>). The loader
    /// is one background thread beside libtorch's compute threads; this bounds how far it runs ahead.
    /// </summary>
    public int PrefetchBatches { get; init; } = 2;

    /// <summary>Log (and write the metrics file's "train" line) every this many steps.</summary>
    public int LogEvery { get; init; } = 100;

    /// <summary>Steps not timed in benchmark mode (the reference's <c>--warmup_steps</c>), not a learning-rate warm-up.</summary>
    public int BenchmarkWarmupSteps { get; init; } = 200;

    /// <summary><paramref name="model"/> with this recipe's <see cref="BaseFilters"/> and <see cref="ChannelsLast"/>.</summary>
    public UNetOptions ApplyTo(UNetOptions model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model with { BaseFilters = BaseFilters, ChannelsLast = ChannelsLast };
    }

    /// <summary>One line of the values: "16 filters, batch 2, 4000 steps, lr 0.001 (100 warm-up steps), BFloat16, channels-last, augmented".</summary>
    public string Describe()
    {
        var inv = CultureInfo.InvariantCulture;
        var rate = new List<string>();
        if (LearningRateWarmupSteps > 0) rate.Add(string.Create(inv, $"{LearningRateWarmupSteps} warm-up steps"));
        if (LearningRateDecay != LearningRateDecay.Constant) rate.Add(LearningRateDecay.ToString().ToLowerInvariant());
        string schedule = rate.Count == 0 ? "" : $" ({string.Join(", ", rate)})";
        return string.Create(inv, $"{BaseFilters} filters, batch {BatchSize}, {MaxSteps} steps, lr {LearningRate:G3}{schedule}, {Precision}, {(ChannelsLast ? "channels-last, " : "")}{(Augment ? "augmented" : "no augmentation")}");
    }

    /// <summary>Every problem, each naming its value; empty when usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var p = new List<string>();
        if (string.IsNullOrWhiteSpace(Name)) p.Add($"{nameof(Name)} must not be empty");
        if (BaseFilters < 1) p.Add($"{nameof(BaseFilters)} must be at least 1 (got {BaseFilters})");
        if (BatchSize < 1) p.Add($"{nameof(BatchSize)} must be at least 1 (got {BatchSize})");
        if (MaxSteps < 1) p.Add($"{nameof(MaxSteps)} must be at least 1 (got {MaxSteps})");
        if (!(LearningRate > 0) || double.IsInfinity(LearningRate)) p.Add($"{nameof(LearningRate)} must be a finite positive number (got {LearningRate})");
        if (LearningRateWarmupSteps < 0) p.Add($"{nameof(LearningRateWarmupSteps)} must be non-negative (got {LearningRateWarmupSteps})");
        if (!Enum.IsDefined(LearningRateDecay)) p.Add($"{nameof(LearningRateDecay)} {LearningRateDecay} is not a known decay");
        if (!Enum.IsDefined(Precision)) p.Add($"{nameof(Precision)} {Precision} is not a known precision");
        if (PrefetchBatches < 1) p.Add($"{nameof(PrefetchBatches)} must be at least 1 (got {PrefetchBatches})");
        if (LogEvery < 0) p.Add($"{nameof(LogEvery)} must be non-negative (got {LogEvery})");
        if (BenchmarkWarmupSteps < 0) p.Add($"{nameof(BenchmarkWarmupSteps)} must be non-negative (got {BenchmarkWarmupSteps})");
        return p;
    }
}
