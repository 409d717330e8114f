using System.Diagnostics;
using UNet.Segmentation.Benchmarks.Workloads;
using UNet.Segmentation.Model;
using UNet.Segmentation.Runtime;
using static TorchSharp.torch;

namespace UNet.Segmentation.Benchmarks.SideBySide;

/// <summary>
/// The <c>nnunet-step</c> worker of benchmarks/side-by-side/run.py <c>--model nnunet</c>: times
/// <see cref="NnUNetWorkload"/> steps with the flags of <c>step</c>, whose defaults here are the
/// BraTS patch (<c>--filters 32 --size 128</c>: 128³, 4 channels, 4 classes). Prints the keys
/// <c>step</c> prints, its FLOPs per patch from <see cref="FlopCount.Forward(Model.NnUNet.NnUNetOptions, IReadOnlyList{int}?)"/>
/// / <see cref="FlopCount.TrainingStep(Model.NnUNet.NnUNetOptions, IReadOnlyList{int}?)"/>, and the
/// parameter count (run.py checks the other runners build the same network).
/// </summary>
public static class NnUNetStepCommand
{
    /// <summary>The BraTS defaults, in front of the caller's flags (a later flag wins).</summary>
    public static readonly IReadOnlyList<string> Defaults = ["--filters", "32", "--size", "128"];

    /// <summary>Times the steps <paramref name="o"/> asks for; throws <see cref="ArgumentException"/> for a memory format or size the nnU-Net cannot run.</summary>
    internal static Dictionary<string, object> Run(StepOptions o)
    {
        if (o.ChannelsLast) throw new ArgumentException("--format channels-last: the nnU-Net benchmark is contiguous only", "--format");
        TorchRuntime.EnsureLoaded();
        set_num_threads(o.Threads);
        bool training = o.Mode == "train";
        Model.NnUNet.NnUNetOptions options;
        try { options = NnUNetWorkload.PlanFor(o.Size, o.Filters); }
        catch (ArgumentException e) { throw new ArgumentException($"--size {o.Size}: {e.Message}", "--size", e); }
        using var workload = new NnUNetWorkload(training, o.Batch, o.Precision, o.Filters, o.Size, o.Device);
        var times = new List<double>();
        for (int i = 0; i < o.Warmup + o.Steps; i++)
        {
            Devices.Synchronize(o.Device);
            long start = Stopwatch.GetTimestamp();
            if (training) workload.TrainStep(); else workload.InferStep();
            Devices.Synchronize(o.Device);
            times.Add(Stopwatch.GetElapsedTime(start).TotalSeconds);
        }
        var measured = times.Skip(o.Warmup).ToArray();
        int[] patch = [o.Size, o.Size, o.Size];
        return new Dictionary<string, object>
        {
            ["impl"] = "ours", ["model"] = "nnunet", ["version"] = __version__, ["mode"] = o.Mode, ["batch"] = o.Batch,
            ["precision"] = o.PrecisionName, ["device"] = o.Device.ToString(), ["format"] = o.FormatName, ["filters"] = o.Filters, ["size"] = o.Size,
            ["threads"] = get_num_threads(), ["parameters"] = workload.Model.ParameterCount, ["step_seconds"] = measured,
            ["images_per_second"] = measured.Average(t => o.Batch / t),
            ["peak_rss_mib"] = StepCommand.ProcStatusMib("VmHWM:"),
            ["flops_per_image"] = training ? FlopCount.TrainingStep(options, patch) : FlopCount.Forward(options, patch),
        };
    }
}
