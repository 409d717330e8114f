using System.Diagnostics;
using TorchSharp;
using UNet.Segmentation.Model;
using UNet.Segmentation.Training;
using static TorchSharp.torch;

namespace UNet.Segmentation.Benchmarking;

/// <summary>The reference's inference benchmark: forward passes of random batches at the model's input size, in inference mode, each step synchronised.</summary>
public static class InferenceBenchmark
{
    /// <summary>
    /// Times <paramref name="warmupSteps"/> + <paramref name="steps"/> forward passes and reports
    /// them as "test". In bfloat16 or float16 the passes run on a working copy of the weights in
    /// that type (<see cref="PrecisionExtensions.WorkingCopy"/>, made once before the first pass),
    /// as prediction runs them, and the report records the precision (<see cref="BenchmarkReport.Precision"/>).
    /// </summary>
    /// <param name="model">The model; its train/eval mode is restored afterwards.</param>
    /// <param name="batchSize">Images per forward pass.</param>
    /// <param name="warmupSteps">Passes run before timing.</param>
    /// <param name="steps">Passes timed (at least 1).</param>
    /// <param name="precision">Float32, BFloat16 (CPU and CUDA) or Float16 (CUDA only).</param>
    /// <param name="device">Where the input batch lives (the model's device); CPU when null.</param>
    /// <exception cref="ArgumentException"><paramref name="precision"/> is not a known precision, or is Float16 on a device other than CUDA; raised before any work.</exception>
    public static BenchmarkReport Run(UNetModel model, int batchSize, int warmupSteps, int steps, Precision precision = Precision.Float32, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        var d = device ?? CPU;
        if (!Enum.IsDefined(precision))
            throw new ArgumentException($"{precision} is not a known precision", nameof(precision));
        if (precision == Precision.Float16 && d.type != DeviceType.CUDA)
            throw new ArgumentException($"Float16 mixed precision needs CUDA; on {d.type} use BFloat16 or Float32", nameof(precision));
        bool wasTraining = model.training;
        model.eval();
        var times = new List<double>();
        using var mixed = precision.WorkingCopy(model);
        mixed?.Working.eval();
        try
        {
            using var inference = inference_mode();
            using var input = randn([batchSize, model.Options.InputChannels, model.Options.InputSize, model.Options.InputSize], device: d).DetachFromDisposeScope();
            for (int i = 0; i < warmupSteps + steps; i++)
            {
                using var scope = NewDisposeScope();
                var clock = Stopwatch.StartNew();
                var logits = mixed is null ? model.call(input) : mixed.Forward(input);
                // Softmax in float32 (the logits may be bfloat16 or float16); reading the sum synchronises, as the reference's timestamps do.
                logits.softmax(1, ScalarType.Float32).sum().item<float>();
                times.Add(clock.Elapsed.TotalSeconds);
            }
        }
        finally
        {
            model.train(wasTraining);
        }
        return BenchmarkReport.FromStepTimes("test", batchSize, warmupSteps, times) with { Precision = precision };
    }
}
