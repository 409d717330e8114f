using BenchmarkDotNet.Attributes;
using UNet.Segmentation.Model;
using UNet.Segmentation.Torch;
using UNet.Segmentation.Torch.Optim;

namespace UNet.Segmentation.Benchmarks;

/// <summary>
/// One training step of the reference U-Net (forward, cross-entropy, backward, Adam) on a
/// batch already in memory: the rate the data pipeline has to outrun.
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 1, iterationCount: 3, invocationCount: 1)]
public class TrainingStepBenchmarks
{
    private UNetModel _model = null!;
    private Adam _adam = null!;
    private Tensor _images = null!, _classes = null!;

    [Params(8)]
    public int BatchSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        LibTorch.ManualSeed(0);
        _model = new UNetModel(UNetOptions.Reference);
        _adam = new Adam(_model.Parameters(), learningRate: 1e-4, epsilon: 1e-7);
        _images = Tensor.Randn([BatchSize, 1, 572, 572]).DetachFromScope();
        _classes = Tensor.RandInt(0, 2, [BatchSize, 388, 388]).DetachFromScope();
    }

    [Benchmark(Description = "reference U-Net train step")]
    public double Step()
    {
        using var scope = TensorScope.Begin();
        _adam.ZeroGrad();
        var loss = Functional.CrossEntropy(_model.Forward(_images), _classes);
        loss.Backward();
        _adam.Step();
        return loss.ToDouble();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _adam.Dispose();
        _model.Dispose();
        _images.Dispose();
        _classes.Dispose();
    }
}
