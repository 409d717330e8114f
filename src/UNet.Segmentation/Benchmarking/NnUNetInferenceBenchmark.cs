using System.Diagnostics;
using UNet.Segmentation.Data.Msd;
using UNet.Segmentation.Inference.NnUNet;
using UNet.Segmentation.Model.NnUNet;
using static TorchSharp.torch;

namespace UNet.Segmentation.Benchmarking;

/// <summary>
/// The nnU-Net's inference benchmarks, reported as <see cref="BenchmarkReport"/>s like the U-Net's
/// (<see cref="InferenceBenchmark"/>): forward passes of batches of patches ("test", patches/s, as
/// the reference's benchmark mode times them) and whole volumes through the sliding window
/// ("predict", volumes/s, what prediction of a case costs). Warm-up steps are run, not timed.
/// </summary>
public static class NnUNetInferenceBenchmark
{
    /// <summary>
    /// Times <paramref name="warmupSteps"/> + <paramref name="steps"/> forward passes (inference
    /// mode, no deep-supervision heads) of <paramref name="batchSize"/> random patches of the
    /// model's patch size; each step is synchronised by reading the softmax's sum.
    /// </summary>
    /// <exception cref="ArgumentException">The model's options have no patch size.</exception>
    public static BenchmarkReport Patches(NnUNetModel model, int batchSize, int warmupSteps, int steps, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(warmupSteps);
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        var patch = model.Options.PatchSize ?? throw new ArgumentException("the model's options have no patch size to time", nameof(model));
        bool wasTraining = model.training;
        model.eval();
        var times = new List<double>(warmupSteps + steps);
        try
        {
            using var inference = inference_mode();
            using var input = randn([batchSize, model.Options.InputChannels, .. patch.Select(s => (long)s)], device: device ?? CPU).DetachFromDisposeScope();
            for (int i = 0; i < warmupSteps + steps; i++)
            {
                using var scope = NewDisposeScope();
                var clock = Stopwatch.StartNew();
                model.forward(input).softmax(1).sum().item<float>();
                times.Add(clock.Elapsed.TotalSeconds);
            }
        }
        finally
        {
            model.train(wasTraining);
        }
        return BenchmarkReport.FromStepTimes("test", batchSize, warmupSteps, times);
    }

    /// <summary>
    /// Times the sliding-window prediction (<see cref="NnUNetSlidingWindow.PredictProbabilities(Volume{float})"/>)
    /// of <paramref name="volumes"/> (preprocessed, C×D×H×W), one step per volume: the first
    /// <paramref name="warmupSteps"/> steps are untimed, then <paramref name="steps"/> are timed,
    /// going round the volumes. Batch 1: the throughput is volumes/s. The report's precision is the window's.
    /// </summary>
    /// <exception cref="ArgumentException">No volumes.</exception>
    public static BenchmarkReport Volumes(NnUNetSlidingWindow window, IReadOnlyList<Volume<float>> volumes, int warmupSteps, int steps)
    {
        ArgumentNullException.ThrowIfNull(window);
        ArgumentNullException.ThrowIfNull(volumes);
        if (volumes.Count == 0) throw new ArgumentException("no volume to predict", nameof(volumes));
        ArgumentOutOfRangeException.ThrowIfNegative(warmupSteps);
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        var times = new List<double>(warmupSteps + steps);
        for (int i = 0; i < warmupSteps + steps; i++)
        {
            var clock = Stopwatch.StartNew();
            // The probabilities come back to the host: the step is synchronised.
            _ = window.PredictProbabilities(volumes[i % volumes.Count]);
            times.Add(clock.Elapsed.TotalSeconds);
        }
        return BenchmarkReport.FromStepTimes("predict", 1, warmupSteps, times) with
        {
            Precision = window.Options.Precision == ScalarType.BFloat16 ? Training.Precision.BFloat16 : Training.Precision.Float32,
        };
    }
}
