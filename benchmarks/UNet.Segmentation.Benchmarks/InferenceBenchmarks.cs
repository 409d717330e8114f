using BenchmarkDotNet.Attributes;
using UNet.Segmentation.Benchmarks.Workloads;

namespace UNet.Segmentation.Benchmarks;

/// <summary>
/// One forward pass of the U-Net in inference mode (plus softmax) on a batch in memory, over the
/// grid of <see cref="UNetGridBenchmark"/>. Reported per batch, and as images/s.
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 1, iterationCount: 5, invocationCount: 1)]
public class InferenceBenchmarks : UNetGridBenchmark
{
    protected override bool Training => false;

    [Benchmark(Description = "U-Net inference")]
    public double Forward() => Workload.InferStep();
}
