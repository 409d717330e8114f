using System.Diagnostics;
using UNet.Segmentation.Model;
using UNet.Segmentation.Torch;

namespace UNet.Segmentation.Benchmarking;

/// <summary>The reference's inference benchmark: forward passes of random batches at the model's input size, in inference mode, each step synchronised.</summary>
public static class InferenceBenchmark
{
    /// <summary>Times <paramref name="warmupSteps"/> + <paramref name="steps"/> forward passes and reports them as "test".</summary>
    public static BenchmarkReport Run(UNetModel model, int batchSize, int warmupSteps, int steps, bool bfloat16 = false, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        var d = device ?? Device.Cpu;
        bool wasTraining = model.IsTraining;
        model.Eval();
        var times = new List<double>();
        try
        {
            using var inference = Autograd.InferenceMode();
            using var input = Tensor.Randn([batchSize, model.Options.InputChannels, model.Options.InputSize, model.Options.InputSize], device: d).DetachFromScope();
            for (int i = 0; i < warmupSteps + steps; i++)
            {
                using var scope = TensorScope.Begin();
                var clock = Stopwatch.StartNew();
                using (bfloat16 ? Autocast.Enable(d.Type, ScalarType.BFloat16) : null)
                {
                    var logits = model.Forward(input);
                    logits.Softmax(1).Sum().ToDouble(); // synchronises, as the reference's timestamps do
                }
                times.Add(clock.Elapsed.TotalSeconds);
            }
        }
        finally
        {
            model.Train(wasTraining);
        }
        return BenchmarkReport.FromStepTimes("test", batchSize, warmupSteps, times);
    }
}
