using BenchmarkDotNet.Attributes;
using UNet.Segmentation.Data;

namespace UNet.Segmentation.Benchmarks;

/// <summary>
/// Augmented training batches per second at the reference's 572×572, from the real ISBI files
/// when ISBI2012_DIR is set, else from the synthetic dataset of the same size. One operation is
/// one batch of <see cref="BatchSize"/> taken from the prefetching loader.
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 10)]
[Config(typeof(UNet.Segmentation.Benchmarks.Workloads.ImagesPerSecondConfig))]
public class DataPipelineBenchmarks
{
    private IsbiDataset _data = null!;
    private BatchLoader _loader = null!;

    [Params(8)]
    public int BatchSize { get; set; }

    [Params(true, false)]
    public bool Augment { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _data = IsbiDataset.LoadOrSynthetic(Environment.GetEnvironmentVariable("ISBI2012_DIR"));
        var fold = _data.Fold(0);
        _loader = _data.TrainingBatches(fold.Training, BatchSize, DataOptions.Reference with { Augment = Augment }, seed: 0);
    }

    [Benchmark(Description = "take one batch")]
    public long TakeBatch()
    {
        using var batch = _loader.Take();
        return batch.Index;
    }

    [GlobalCleanup]
    public void Cleanup() => _loader.Dispose();
}
