using System.Diagnostics;
using System.Text.Json;
using UNet.Segmentation.Benchmarks.Workloads;
using UNet.Segmentation.Model;
using UNet.Segmentation.Torch;
using UNet.Segmentation.Training;

namespace UNet.Segmentation.Benchmarks.SideBySide;

/// <summary>
/// Our side of benchmarks/side-by-side/run.py: <c>step</c> times <see cref="UNetWorkload"/> steps
/// and prints one JSON line (per-step seconds, mean images/s as the reference computes it, peak
/// resident memory); <c>conv-rate</c> measures the machine's convolution speed for the compute
/// floor: a 64→64 3×3 convolution on batch×64×570×570 in inference mode.
/// </summary>
public static class StepCommand
{
    public static int Run(string command, IReadOnlyList<string> args)
    {
        StepOptions o;
        try { o = StepOptions.Parse(args); }
        catch (ArgumentException e) { Console.Error.WriteLine($"{command}: {e.Message}"); return 2; }
        LibTorch.Threads = o.Threads;
        var rss = new List<double[]>();
        var times = command == "conv-rate" ? ConvTimes(o) : StepTimes(o, rss);
        var measured = times.Skip(o.Warmup).ToArray();
        var result = new Dictionary<string, object>
        {
            ["impl"] = "ours", ["version"] = LibTorch.Version, ["mode"] = command == "conv-rate" ? "conv" : o.Mode, ["batch"] = o.Batch,
            ["precision"] = o.PrecisionName, ["device"] = o.Device.ToString(), ["format"] = o.FormatName, ["filters"] = o.Filters, ["size"] = o.Size,
            ["threads"] = LibTorch.Threads, ["step_seconds"] = measured,
            ["images_per_second"] = measured.Average(t => o.Batch / t),
            ["peak_rss_mib"] = ProcStatusMib("VmHWM:"),
        };
        if (rss.Count > 0) result["rss_mib_by_step"] = rss;
        if (command == "conv-rate")
            result["gflops"] = ConvFlops(o) / measured.Order().ElementAt(measured.Length / 2) / 1e9;
        else
            result["flops_per_image"] = o.Mode == "train"
                ? FlopCount.TrainingStep(UNetOptions.Reference with { BaseFilters = o.Filters, InputSize = o.Size }, o.Size)
                : FlopCount.Forward(UNetOptions.Reference with { BaseFilters = o.Filters, InputSize = o.Size }, o.Size);
        Console.WriteLine(JsonSerializer.Serialize(result));
        return 0;
    }

    private static List<double> StepTimes(StepOptions o, List<double[]> rss)
    {
        bool training = o.Mode == "train";
        using var workload = new UNetWorkload(training, o.Batch, o.Precision, o.ChannelsLast, o.Filters, o.Size, o.Device);
        var times = new List<double>();
        for (int i = 0; i < o.Warmup + o.Steps; i++)
        {
            long start = Stopwatch.GetTimestamp();
            if (training) workload.TrainStep(); else workload.InferStep();
            times.Add(Stopwatch.GetElapsedTime(start).TotalSeconds);
            if (o.RssEvery > 0 && (i + 1) % o.RssEvery == 0) rss.Add([i + 1, ProcStatusMib("VmRSS:"), ProcStatusMib("VmHWM:")]);
        }
        return times;
    }

    private const int ConvChannels = 64, ConvSize = 570;

    private static double ConvFlops(StepOptions o) => 2.0 * o.Batch * (ConvSize - 2) * (ConvSize - 2) * ConvChannels * ConvChannels * 9;

    private static List<double> ConvTimes(StepOptions o)
    {
        using var inference = Autograd.InferenceMode();
        using var scope = TensorScope.Begin();
        var dtype = o.Precision.AutocastType() ?? ScalarType.Float32;
        var format = o.ChannelsLast ? MemoryFormat.ChannelsLast : MemoryFormat.Contiguous;
        var x = Tensor.Randn([o.Batch, ConvChannels, ConvSize, ConvSize]).To(dtype, o.Device).Contiguous(format);
        var w = Tensor.Randn([ConvChannels, ConvChannels, 3, 3]).Mul(0.05).To(dtype, o.Device).Contiguous(format);
        var b = Tensor.Zeros([ConvChannels]).To(dtype, o.Device);
        var times = new List<double>();
        for (int i = 0; i < o.Warmup + o.Steps; i++)
        {
            using var step = TensorScope.Begin();
            long start = Stopwatch.GetTimestamp();
            Functional.Conv2d(x, w, b).Sum().ToDouble();
            times.Add(Stopwatch.GetElapsedTime(start).TotalSeconds);
        }
        return times;
    }

    /// <summary>A kB field of /proc/self/status in MiB — VmHWM: peak resident set, VmRSS: current (0 where /proc is missing).</summary>
    public static double ProcStatusMib(string field)
    {
        const string path = "/proc/self/status";
        if (!File.Exists(path)) return 0;
        foreach (string line in File.ReadLines(path))
            if (line.StartsWith(field, StringComparison.Ordinal))
                return long.Parse(line[field.Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) / 1024.0;
        return 0;
    }
}
