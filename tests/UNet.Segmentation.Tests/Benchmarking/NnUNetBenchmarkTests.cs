using UNet.Segmentation.Benchmarking;
using UNet.Segmentation.Data;
using UNet.Segmentation.Data.Msd;
using UNet.Segmentation.Inference.NnUNet;
using UNet.Segmentation.Model.NnUNet;
using UNet.Segmentation.Training;
using static TorchSharp.torch;

namespace UNet.Segmentation.Tests.Benchmarking;

/// <summary>The nnU-Net's benchmark reports at a tiny size: what was timed and how it is labelled (never how long it took).</summary>
public sealed class NnUNetBenchmarkTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("nnunet-bench-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData(3)]
    [InlineData(2)]
    public void TrainingAndInferenceReports_CountTheTimedStepsAndTheirUnits(int dims)
    {
        var token = TestContext.Current.CancellationToken;
        var task = SyntheticMsd.Generate(Path.Combine(_dir, "task"), new SyntheticMsdOptions { TrainingCases = 3, TestCases = 0, Size = new Shape3D(16, 16, 16) });
        var patch = dims == 3 ? new Shape3D(16, 16, 16) : new Shape3D(1, 16, 16);
        var prepared = MsdCache.Prepare(task, Path.Combine(_dir, $"cache{dims}"), new MsdPreprocessingOptions { PatchSize = patch }, token);
        var data = MsdTrainingData.Load(prepared, MsdAugmentationOptions.None, dims);
        int[] size = dims == 3 ? [16, 16, 16] : [16, 16];
        manual_seed(1);
        using var model = new NnUNetModel(NnUNetPlan.For(size, dims == 3 ? [1.0, 1.0, 1.0] : [1.0, 1.0], data.Channels, data.Classes, minFeatureMap: 2) with { BaseFilters = 4, MaxFilters = 8 });
        using (var trainer = Trainer.For(model).WithSteps(10, 2).WithSeed(3).Build())
        {
            var train = trainer.Benchmark(data, FoldSplit.All(data.Count), warmupSteps: 1, steps: 2);
            Assert.Equal(("train", 2, 1, 2), (train.Mode, train.BatchSize, train.WarmupSteps, train.MeasuredSteps));
            Assert.True(train.Throughput > 0);
        }
        var test = NnUNetInferenceBenchmark.Patches(model, batchSize: 3, warmupSteps: 1, steps: 2);
        Assert.Equal(("test", 3, 1, 2), (test.Mode, test.BatchSize, test.WarmupSteps, test.MeasuredSteps));
        Assert.True(model.training); // put back as it was
        using var window = new NnUNetSlidingWindow(model);
        var volumes = NnUNetInferenceBenchmark.Volumes(window, data.Cases.Select(c => c.Image).ToList(), warmupSteps: 1, steps: 4);
        Assert.Equal(("predict", 1, 1, 4), (volumes.Mode, volumes.BatchSize, volumes.WarmupSteps, volumes.MeasuredSteps));
        Assert.Equal(["throughput_predict", "latency_predict_mean", "latency_predict_90", "latency_predict_95", "latency_predict_99"], volumes.ReferenceNames().Keys);
        Assert.Throws<ArgumentException>(() => NnUNetInferenceBenchmark.Volumes(window, [], 0, 1));
    }
}
