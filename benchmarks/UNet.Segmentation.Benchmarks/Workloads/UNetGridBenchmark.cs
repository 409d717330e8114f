using BenchmarkDotNet.Attributes;

namespace UNet.Segmentation.Benchmarks.Workloads;

/// <summary>
/// The parameter grid shared by the U-Net suites (batch size, device and precision, memory format, width,
/// input size; <see cref="BenchParams"/> narrows it from the environment) and the workload's
/// lifetime. Derived suites say whether it trains and what one operation is.
/// </summary>
[Config(typeof(ImagesPerSecondConfig))]
public abstract class UNetGridBenchmark
{
    public static IEnumerable<int> BatchValues => BenchParams.Batches;
    public static IEnumerable<BenchTarget> TargetValues => BenchParams.Targets;
    public static IEnumerable<bool> ChannelsLastValues => BenchParams.ChannelsLast;
    public static IEnumerable<int> FilterValues => BenchParams.Filters;
    public static IEnumerable<int> SizeValues => BenchParams.Sizes;

    [ParamsSource(nameof(BatchValues))] public int BatchSize { get; set; }
    [ParamsSource(nameof(TargetValues))] public BenchTarget Target { get; set; }
    [ParamsSource(nameof(ChannelsLastValues))] public bool ChannelsLast { get; set; }
    [ParamsSource(nameof(FilterValues))] public int Filters { get; set; }
    [ParamsSource(nameof(SizeValues))] public int InputSize { get; set; }

    protected UNetWorkload Workload { get; private set; } = null!;

    /// <summary>True for the training suite.</summary>
    protected abstract bool Training { get; }

    [GlobalSetup]
    public void Setup() => Workload = new UNetWorkload(Training, BatchSize, Target.Precision, ChannelsLast, Filters, InputSize, Target.Device);

    [GlobalCleanup]
    public void Cleanup() => Workload.Dispose();
}
