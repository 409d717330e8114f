using System.Diagnostics;
using TorchSharp;
using UNet.Segmentation.Model;
using UNet.Segmentation.Model.Precision;
using static TorchSharp.torch;

namespace UNet.Segmentation.Benchmarking;

/// <summary>The reference's inference benchmark: forward passes of random batches at the model's input size, in inference mode, each step synchronised.</summary>
public static class InferenceBenchmark
{
    /// <summary>Times <paramref name="warmupSteps"/> + <paramref name="steps"/> forward passes and reports them as "test".</summary>
    public static BenchmarkReport Run(UNetModel model, int batchSize, int warmupSteps, int steps, bool bfloat16 = false, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        var d = device ?? CPU;
        bool wasTraining = model.training;
        model.eval();
        var times = new List<double>();
        try
        {
            using var inference = inference_mode();
            using var input = randn([batchSize, model.Options.InputChannels, model.Options.InputSize, model.Options.InputSize], device: d).DetachFromDisposeScope();
            for (int i = 0; i < warmupSteps + steps; i++)
            {
                using var scope = NewDisposeScope();
                var clock = Stopwatch.StartNew();
                using (bfloat16 ? MixedPrecision.Enter(ScalarType.BFloat16, d.type) : null)
                {
                    var logits = model.call(input);
                    // Softmax in float32 (the logits may be bfloat16); reading the sum synchronises, as the reference's timestamps do.
                    logits.to(ScalarType.Float32).softmax(1).sum().item<float>();
                }
                times.Add(clock.Elapsed.TotalSeconds);
            }
        }
        finally
        {
            model.train(wasTraining);
        }
        return BenchmarkReport.FromStepTimes("test", batchSize, warmupSteps, times);
    }
}
