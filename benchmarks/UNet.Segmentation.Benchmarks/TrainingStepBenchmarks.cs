using BenchmarkDotNet.Attributes;
using UNet.Segmentation.Benchmarks.Workloads;

namespace UNet.Segmentation.Benchmarks;

/// <summary>
/// One training step of the U-Net (forward, Dice + cross-entropy, backward, Adam) on a batch in
/// memory, over the grid of <see cref="UNetGridBenchmark"/>. Reported per step, and as images/s.
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 1, iterationCount: 3, invocationCount: 1)]
public class TrainingStepBenchmarks : UNetGridBenchmark
{
    protected override bool Training => true;

    [Benchmark(Description = "U-Net train step")]
    public double Step() => Workload.TrainStep();
}
