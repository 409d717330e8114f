using UNet.Segmentation.Benchmarks.Workloads;
using UNet.Segmentation.Tests.Shared;
using UNet.Segmentation.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace UNet.Segmentation.Benchmarks.Tests;

/// <summary>
/// The unit every speed figure is made of: a narrow U-Net's training step really trains, an
/// inference step returns the softmax's sum, both formats and precisions run, nothing leaks, and
/// the grid offers float16 only where it can run.
/// </summary>
[Collection("LiveTensors")] // tensor counts are process-wide: classes that make tensors run one at a time
public class UNetWorkloadTests
{
    private const int Filters = 4, Size = 188;

    [Theory]
    [InlineData(Precision.Float32, false)]
    [InlineData(Precision.BFloat16, true)]
    public void TrainingSteps_LowerTheLossOnTheirFixedBatch(Precision precision, bool channelsLast)
    {
        using var workload = new UNetWorkload(training: true, batchSize: 2, precision, channelsLast, Filters, Size);
        double first = workload.TrainStep();
        double last = first;
        for (int i = 0; i < 15; i++) last = workload.TrainStep();
        Assert.True(double.IsFinite(first) && double.IsFinite(last), $"losses {first}, {last}");
        Assert.True(last < first, $"the loss went from {first} to {last}");
    }

    [Theory]
    [InlineData(Precision.Float32, false)]
    [InlineData(Precision.BFloat16, true)]
    public void InferenceStep_SumsOneProbabilityPerOutputPixel(Precision precision, bool channelsLast)
    {
        using var workload = new UNetWorkload(training: false, batchSize: 3, precision, channelsLast, Filters, Size);
        int output = workload.Model.OutputSize(Size);
        double expected = 3.0 * output * output;
        Assert.Equal(expected, workload.InferStep(), expected * 1e-3);
    }

    [Fact]
    public void AnInferenceWorkload_RefusesToTrain()
    {
        using var workload = new UNetWorkload(training: false, batchSize: 1, Precision.Float32, false, Filters, Size);
        Assert.Throws<InvalidOperationException>(() => workload.TrainStep());
    }

    [Fact]
    public void Float16_OnTheCpu_IsRefusedNamingThePrecision()
    {
        var e = Assert.Throws<ArgumentException>(() => new UNetWorkload(true, 1, Precision.Float16, false, Filters, Size, CPU));
        Assert.Equal("precision", e.ParamName);
        Assert.Contains("CUDA", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Workloads_LeaveNoTensorBehind()
    {
        long before = LiveTensors.SettledCount();
        int parameters = 0;
        using (var training = new UNetWorkload(true, 1, Precision.BFloat16, true, Filters, Size))
        {
            training.TrainStep();
            training.TrainStep();
            parameters += training.Model.parameters().Count();
            // Its bfloat16 working copy is a second model, whose convolution tensors were each
            // converted once more (a new Parameter each), the bookkeeping below.
            parameters += training.Model.parameters().Count() + training.Model.named_parameters().Count(p => !p.name.Contains(".bn", StringComparison.Ordinal));
        }
        using (var inference = new UNetWorkload(false, 1, Precision.Float32, false, Filters, Size))
        {
            inference.InferStep();
            parameters += inference.Model.parameters().Count();
        }
        // TorchSharp 0.107 keeps counting the tensor each Parameter is made from (Parameter's
        // constructor takes its handle with Tensor.MoveHandle, which does not lower TotalCount):
        // every model built raises the count by its number of parameters for good, even after
        // Dispose. Nothing else may be left, however many steps ran.
        Assert.Equal(before + parameters, LiveTensors.SettledCount());
    }

    [Fact]
    public void TheGrid_OffersFloat16OnlyOnCuda()
    {
        var targets = BenchParams.Targets.ToList();
        Assert.Contains(new BenchTarget(CPU, Precision.Float32), targets);
        Assert.Contains(new BenchTarget(new Device("cpu"), Precision.BFloat16), targets); // equal by name, not by reference
        Assert.DoesNotContain(targets, t => t.Precision == Precision.Float16 && t.Device.type != DeviceType.CUDA);
        Assert.Equal(cuda.is_available(), targets.Any(t => t.Device.type == DeviceType.CUDA));
        Assert.Equal("cpu/BFloat16", new BenchTarget(CPU, Precision.BFloat16).ToString());
    }
}
