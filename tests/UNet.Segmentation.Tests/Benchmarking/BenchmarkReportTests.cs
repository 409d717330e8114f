using TorchSharp;
using UNet.Segmentation.Benchmarking;
using UNet.Segmentation.Model;
using UNet.Segmentation.Model.Precision;
using UNet.Segmentation.Tests.Model;
using UNet.Segmentation.Tests.Shared;
using UNet.Segmentation.Training;

namespace UNet.Segmentation.Tests.Benchmarking;

[Collection("LiveTensors")]
public class BenchmarkReportTests
{
    [Fact]
    public void FromStepTimes_DropsWarmup_AndComputesTheReferencesNumbers()
    {
        // 2 warm-up steps (slow), then 0.1 s, 0.2 s, 0.4 s, 0.5 s at batch 8.
        var r = BenchmarkReport.FromStepTimes("train", 8, 2, [9.0, 7.0, 0.1, 0.2, 0.4, 0.5]);
        Assert.Equal(4, r.MeasuredSteps);
        Assert.Equal((80 + 40 + 20 + 16) / 4.0, r.Throughput, 9);   // mean of per-step images/s, not images / total time
        Assert.Equal(300, r.LatencyMean, 9);
        Assert.Equal(470, r.Latency90, 9);                           // numpy: 400 + 0.7·100
        Assert.Equal(485, r.Latency95, 9);
        Assert.Equal(497, r.Latency99, 9);
        var names = r.ReferenceNames();
        Assert.Equal(r.Throughput, names["throughput_train"]);
        Assert.Equal(r.Latency90, names["latency_train_90"]);
        Assert.Contains("latency_train_mean", names.Keys);
    }

    [Fact]
    public void FromStepTimes_RejectsEmptyOrNonPositiveTimes()
    {
        Assert.Throws<ArgumentException>(() => BenchmarkReport.FromStepTimes("test", 1, 3, [1.0, 1.0]));
        Assert.Throws<ArgumentException>(() => BenchmarkReport.FromStepTimes("test", 1, 0, [0.0]));
        Assert.Throws<ArgumentOutOfRangeException>(() => BenchmarkReport.FromStepTimes("test", 0, 0, [1.0]));
    }

    [Theory]
    [InlineData(Precision.Float32)]
    [InlineData(Precision.BFloat16)]
    public void InferenceBenchmark_TimesTheRequestedSteps_LeavingNoTensorBehind(Precision precision)
    {
        using var model = new UNetModel(UNetOptions.Reference with { BaseFilters = 4, Depth = 2, InputSize = 92 });
        long baseline = LiveTensors.SettledCount();
        var r = InferenceBenchmark.Run(model, batchSize: 2, warmupSteps: 1, steps: 3, precision: precision);
        // No GC here: a finalizer must not hide a leak. A bfloat16 run makes (and frees) a working
        // copy of the weights, which leaves TorchSharp's Parameter bookkeeping and nothing else.
        long bookkeeping = precision == Precision.BFloat16 ? MixedPrecisionModelTests.CopyBookkeeping(model) : 0;
        Assert.Equal(baseline + bookkeeping, torch.Tensor.TotalCount);
        Assert.Equal(("test", 3, 2), (r.Mode, r.MeasuredSteps, r.BatchSize));
        Assert.Equal(precision, r.Precision);
        Assert.True(r.Throughput > 0 && r.LatencyMean > 0 && r.Latency90 <= r.Latency99);
        Assert.True(model.training); // the model's mode is restored

        model.eval();
        InferenceBenchmark.Run(model, batchSize: 1, warmupSteps: 0, steps: 1, precision: precision);
        Assert.False(model.training);
    }

    /// <summary>
    /// The benchmark runs the precision's working copy as prediction does, so float16 on a CPU is
    /// refused (as <see cref="MixedPrecisionModel"/> refuses it) before any work, instead of
    /// timing float32 while the caller reports float16.
    /// </summary>
    [Fact]
    public void InferenceBenchmark_Float16OnCpu_IsRefusedBeforeAnyWork()
    {
        using var model = new UNetModel(UNetOptions.Reference with { BaseFilters = 4, Depth = 2, InputSize = 92 });
        long baseline = LiveTensors.SettledCount();
        var e = Assert.Throws<ArgumentException>(() =>
            InferenceBenchmark.Run(model, batchSize: 1, warmupSteps: 0, steps: 1, precision: Precision.Float16, device: torch.CPU));
        Assert.Equal("precision", e.ParamName);
        Assert.Contains("Float16", e.Message);
        Assert.Equal(baseline, torch.Tensor.TotalCount); // no input batch was made
        Assert.True(model.training);                      // nor the model switched to eval
    }
}
