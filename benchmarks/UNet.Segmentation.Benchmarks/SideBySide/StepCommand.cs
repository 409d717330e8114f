using System.Diagnostics;
using System.Text.Json;
using TorchSharp;
using UNet.Segmentation.Benchmarks.Workloads;
using UNet.Segmentation.Model;
using UNet.Segmentation.Model.Blocks;
using UNet.Segmentation.Model.Precision;
using UNet.Segmentation.Runtime;
using UNet.Segmentation.Training;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace UNet.Segmentation.Benchmarks.SideBySide;

/// <summary>
/// Worker commands, each printing one JSON line. Our side of benchmarks/side-by-side/run.py:
/// <c>step</c> times <see cref="UNetWorkload"/> steps (per-step seconds, mean images/s as the
/// reference computes it, peak resident memory), <c>nnunet-step</c> the 3-D nnU-Net's
/// (<see cref="NnUNetStepCommand"/>); <c>conv-rate</c> measures the machine's convolution speed
/// for the compute floor: C→C 3×3 convolutions at the reference U-Net's shapes in inference mode,
/// or with <c>--dims 3</c> 3×3×3 ones at the BraTS nnU-Net's. And <c>upconv</c>, run by hand: the reference U-Net's four up-convolutions
/// as a plain transposed convolution and in the sub-pixel form (<see cref="UpconvForms"/>),
/// timed forward and backward, with the largest difference between their outputs. Our former
/// binding (libtorch 1.13) computed the up-convolutions in the sub-pixel form on the CPU, where
/// libtorch's stride-2 transposed convolution was slow; this command is the measurement that
/// tells, on the libtorch in use (2.10 with TorchSharp 0.107), whether the library's plain
/// <c>conv_transpose2d</c> still leaves anything on the table. Every timed region ends with
/// <see cref="Devices.Synchronize"/> before the clock is read.
/// </summary>
public static class StepCommand
{
    /// <summary>The commands <see cref="Run(string, IReadOnlyList{string})"/> knows.</summary>
    public static readonly IReadOnlyList<string> Commands = ["step", "nnunet-step", "conv-rate", "upconv"];

    /// <summary>Runs a command, printing its JSON line to stdout (errors to stderr); returns the exit code (2 for bad arguments).</summary>
    public static int Run(string command, IReadOnlyList<string> args) => Run(command, args, Console.Out, Console.Error);

    /// <summary>As <see cref="Run(string, IReadOnlyList{string})"/>, writing to the given streams.</summary>
    public static int Run(string command, IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        Dictionary<string, object> result;
        try
        {
            result = command switch
            {
                "upconv" => Upconv(UpconvOptions.Parse(args)),
                "nnunet-step" => NnUNetStepCommand.Run(StepOptions.Parse([.. NnUNetStepCommand.Defaults, .. args])),
                "step" or "conv-rate" => Step(command, StepOptions.Parse(args)),
                _ => throw new ArgumentException($"unknown command {command} (commands: {string.Join(", ", Commands)})", nameof(command)),
            };
        }
        catch (ArgumentException e)
        {
            stderr.WriteLine($"{command}: {e.Message}");
            return 2;
        }
        stdout.WriteLine(JsonSerializer.Serialize(result));
        return 0;
    }

    private static Dictionary<string, object> Step(string command, StepOptions o)
    {
        TorchRuntime.EnsureLoaded();
        set_num_threads(o.Threads);
        var rss = new List<double[]>();
        var rates = new Dictionary<string, double>();
        var phases = new double[3];
        var times = command == "conv-rate" ? ConvTimes(o, rates) : StepTimes(o, rss, o.Phases && o.Mode == "train" ? phases : null);
        var measured = times.Skip(o.Warmup).ToArray();
        var result = new Dictionary<string, object>
        {
            ["impl"] = "ours", ["version"] = __version__, ["mode"] = command == "conv-rate" ? (o.Backward ? "conv-backward" : "conv") : o.Mode, ["batch"] = o.Batch,
            ["precision"] = o.PrecisionName, ["device"] = o.Device.ToString(), ["format"] = o.FormatName, ["filters"] = o.Filters, ["size"] = o.Size,
            ["dims"] = o.Dims, ["threads"] = get_num_threads(), ["step_seconds"] = measured,
            ["images_per_second"] = measured.Average(t => o.Batch / t),
            ["peak_rss_mib"] = ProcStatusMib("VmHWM:"),
        };
        if (rss.Count > 0) result["rss_mib_by_step"] = rss;
        if (o.Phases && o.Mode == "train" && command == "step")
        {
            // Mean seconds per step of each phase (measured steps only), and the forward's share of
            // the step's FLOPs, so that each phase can be set beside its part of the floor.
            result["phase_seconds"] = new Dictionary<string, double>
            {
                ["forward_and_loss"] = phases[0] / o.Steps, ["backward"] = phases[1] / o.Steps, ["optimizer"] = phases[2] / o.Steps,
            };
            result["forward_flops_per_image"] = FlopCount.Forward(UNetOptions.Reference with { BaseFilters = o.Filters, InputSize = o.Size }, o.Size);
        }
        if (command == "conv-rate")
        {
            // The machine's rate: the best of the reference's 3×3 convolution shapes.
            result["gflops"] = rates.Values.Max();
            result["gflops_by_shape"] = rates;
        }
        else
            result["flops_per_image"] = o.Mode == "train"
                ? FlopCount.TrainingStep(UNetOptions.Reference with { BaseFilters = o.Filters, InputSize = o.Size }, o.Size)
                : FlopCount.Forward(UNetOptions.Reference with { BaseFilters = o.Filters, InputSize = o.Size }, o.Size);
        return result;
    }

    private static List<double> StepTimes(StepOptions o, List<double[]> rss, double[]? phases)
    {
        var warmupPhases = new double[3];
        bool training = o.Mode == "train";
        using var workload = new UNetWorkload(training, o.Batch, o.Precision, o.ChannelsLast, o.Filters, o.Size, o.Device);
        var times = new List<double>();
        for (int i = 0; i < o.Warmup + o.Steps; i++)
        {
            Devices.Synchronize(o.Device);
            long start = Stopwatch.GetTimestamp();
            if (training) workload.TrainStep(phases is null ? null : i < o.Warmup ? warmupPhases : phases); else workload.InferStep();
            Devices.Synchronize(o.Device);
            times.Add(Stopwatch.GetElapsedTime(start).TotalSeconds);
            if (o.RssEvery > 0 && (i + 1) % o.RssEvery == 0) rss.Add([i + 1, ProcStatusMib("VmRSS:"), ProcStatusMib("VmHWM:")]);
        }
        return times;
    }

    /// <summary>The 3×3 convolutions of the reference U-Net's contracting levels at 572×572: channels in = out, input size.</summary>
    public static readonly IReadOnlyList<(int Channels, int Size)> ConvShapes = [(64, 570), (128, 282), (256, 138), (512, 66), (1024, 30)];

    /// <summary>The 3×3×3 convolutions of the BraTS nnU-Net's encoder at 128³ (padding 1): channels in = out, input size per dimension.</summary>
    public static readonly IReadOnlyList<(int Channels, int Size)> ConvShapes3D = [(32, 128), (64, 64), (128, 32), (256, 16), (320, 8)];

    /// <summary>
    /// Times a C→C 3×3 convolution at each of <see cref="ConvShapes"/> (with <c>--dims 3</c> a
    /// 3×3×3 one, padding 1, at each of <see cref="ConvShapes3D"/>) in inference mode; the
    /// returned times are those of the shape with the best median rate, and
    /// <paramref name="rates"/> gets each shape's GFLOP/s (from its median time).
    /// </summary>
    private static List<double> ConvTimes(StepOptions o, Dictionary<string, double> rates)
    {
        // The rate of the arithmetic, not of the kernel zero-filling a fresh output each call.
        FreedMemoryReuse.Enable();
        using var inference = o.Backward ? null : inference_mode();
        var dtype = o.Precision.ComputeType() ?? ScalarType.Float32;
        List<double> best = [];
        double bestRate = 0;
        bool cubes = o.Dims == 3;
        foreach (var (c, size) in cubes ? ConvShapes3D : ConvShapes)
        {
            using var scope = NewDisposeScope();
            long[] input = cubes ? [o.Batch, c, size, size, size] : [o.Batch, c, size, size], kernel = cubes ? [c, c, 3, 3, 3] : [c, c, 3, 3];
            var x = randn(input).to(dtype, o.Device);
            var w = randn(kernel).mul(0.05).to(dtype, o.Device);
            var b = zeros([c]).to(dtype, o.Device);
            if (o.ChannelsLast)
            {
                x = ChannelsLast.Of(x);
                w = ChannelsLast.Of(w);
            }
            Func<Tensor> conv = cubes ? () => F.conv3d(x, w, b, padding: new long[] { 1, 1, 1 }) : () => F.conv2d(x, w, b);
            if (o.Backward)
            {
                x.requires_grad_(true);
                w.requires_grad_(true);
            }
            var times = new List<double>();
            for (int i = 0; i < o.Warmup + o.Steps; i++)
            {
                using var step = NewDisposeScope();
                // Backward: the forward (untimed) makes the graph, then its backward is timed.
                var y = o.Backward ? conv() : null;
                var upstream = y is null ? null : ones_like(y);
                Devices.Synchronize(o.Device);
                long start = Stopwatch.GetTimestamp();
                if (y is null) conv();
                else y.backward([upstream!]);
                Devices.Synchronize(o.Device);
                times.Add(Stopwatch.GetElapsedTime(start).TotalSeconds);
                if (o.Backward)
                {
                    x.grad = null;
                    w.grad = null;
                }
            }
            var measured = times.Skip(o.Warmup).Order().ToArray();
            double outputs = cubes ? (double)size * size * size : (double)(size - 2) * (size - 2);
            double rate = (o.Backward ? 2 : 1) * 2.0 * o.Batch * outputs * c * c * (cubes ? 27 : 9) / measured[measured.Length / 2] / 1e9;
            rates[$"{c}x{size}"] = rate;
            if (rate > bestRate) (bestRate, best) = (rate, times);
        }
        return best;
    }

    /// <summary>The reference U-Net's up-convolutions at 572×572 input: in-channels (base filters 64) and input size of each.</summary>
    public static readonly IReadOnlyList<(int Multiple, int Size)> UpconvShapes = [(16, 28), (8, 52), (4, 100), (2, 196)];

    private static Dictionary<string, object> Upconv(UpconvOptions o)
    {
        TorchRuntime.EnsureLoaded();
        set_num_threads(o.Threads);
        manual_seed(0);
        var shapes = new List<Dictionary<string, object>>();
        var dtype = o.BFloat16 ? ScalarType.BFloat16 : ScalarType.Float32;
        foreach (var (multiple, size) in UpconvShapes)
        {
            int input = multiple * o.Filters, output = input / 2;
            using var scope = NewDisposeScope();
            Tensor Laid(Tensor t) => o.ChannelsLast && t.Dimensions == 4 ? ChannelsLast.Of(t) : t;
            var x = Laid(randn([1, input, size, size]).to(dtype, o.Device)).requires_grad_(true);
            var w = Laid(randn([input, output, 3, 3]).mul(0.02).to(dtype, o.Device)).requires_grad_(true);
            var b = randn([output]).mul(0.02).to(dtype, o.Device).requires_grad_(true);
            var upstream = Laid(randn([1, output, 2 * size, 2 * size]).to(dtype, o.Device)); // the gradient arriving from above
            // The library's sub-pixel form (what Blocks.Upsample runs in bfloat16 on the CPU).
            Func<Tensor, Tensor, Tensor, Tensor>[] forms = [UpconvForms.ConvTranspose, (input, weight, bias) => SubPixelUpsample.Forward(input, weight, bias)];
            var times = new[] { new List<double>(), new List<double>() };
            var forwardTimes = new[] { new List<double>(), new List<double>() };
            for (int i = 0; i < o.Warmup + o.Steps; i++)
                for (int k = 0; k < forms.Length; k++)
                {
                    int form = (i + k) % forms.Length; // who goes first alternates
                    using var step = NewDisposeScope();
                    Devices.Synchronize(o.Device);
                    long start = Stopwatch.GetTimestamp();
                    var y = forms[form](x, w, b);
                    Devices.Synchronize(o.Device);
                    double forward = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                    torch.autograd.grad([y], [x, w, b], [upstream]);
                    Devices.Synchronize(o.Device);
                    if (i < o.Warmup) continue;
                    times[form].Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                    forwardTimes[form].Add(forward);
                }
            var (difference, gradients) = MaxAbsDifferences(x, w, b, upstream);
            shapes.Add(new Dictionary<string, object>
            {
                ["in_channels"] = input, ["out_channels"] = output, ["size"] = size, ["output_size"] = 2 * size,
                ["conv_transpose_ms"] = times[0].Average(), ["subpixel_ms"] = times[1].Average(),
                ["conv_transpose_forward_ms"] = forwardTimes[0].Average(), ["subpixel_forward_ms"] = forwardTimes[1].Average(),
                ["max_abs_diff"] = difference, ["max_abs_diff_gradients"] = gradients,
            });
        }
        return new Dictionary<string, object>
        {
            ["impl"] = "ours", ["command"] = "upconv", ["version"] = __version__, ["device"] = o.Device.ToString(),
            ["threads"] = get_num_threads(), ["precision"] = o.BFloat16 ? "bf16" : "fp32", ["format"] = o.ChannelsLast ? "channels-last" : "contiguous",
            ["batch"] = 1, ["filters"] = o.Filters,
            ["warmup"] = o.Warmup, ["steps"] = o.Steps, ["pass"] = "forward and backward",
            ["shapes"] = shapes,
            ["conv_transpose_ms"] = shapes.Select(s => (double)s["conv_transpose_ms"]).ToArray(),
            ["subpixel_ms"] = shapes.Select(s => (double)s["subpixel_ms"]).ToArray(),
            ["max_abs_diff"] = shapes.Max(s => (double)s["max_abs_diff"]),
        };
    }

    /// <summary>The largest |difference| between the two forms' outputs, and between their gradients of x, weight and bias.</summary>
    private static (double Forward, double Gradients) MaxAbsDifferences(Tensor x, Tensor w, Tensor b, Tensor upstream)
    {
        using var scope = NewDisposeScope();
        var plain = UpconvForms.ConvTranspose(x, w, b);
        var sub = SubPixelUpsample.Forward(x, w, b);
        var plainGrads = torch.autograd.grad([plain], [x, w, b], [upstream]);
        var subGrads = torch.autograd.grad([sub], [x, w, b], [upstream]);
        double forward = (plain - sub).abs().max().to(ScalarType.Float32).item<float>();
        double gradients = plainGrads.Zip(subGrads, (p, s) => (double)(p - s).abs().max().to(ScalarType.Float32).item<float>()).Max();
        return (forward, gradients);
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
