using System.Diagnostics;
using System.Text.Json;
using TorchSharp;
using UNet.Segmentation.Benchmarks.SideBySide;
using UNet.Segmentation.Benchmarks.Workloads;
using UNet.Segmentation.Model;
using UNet.Segmentation.Runtime;
using UNet.Segmentation.Training;
using static TorchSharp.torch;

namespace UNet.Segmentation.Benchmarks.Profiling;

/// <summary>
/// <c>profile</c>: where a step of the reference U-Net (<see cref="UNetOptions.Reference"/> at
/// <c>--filters</c>, <c>--size</c>) spends its time, operator by operator — TorchSharp 0.107 has
/// no profiler, so each operator of <see cref="UNetOps"/> is replayed in isolation on tensors of
/// its real shape, type and layout (<see cref="OpTimer"/>), and the whole step
/// (<see cref="UNetWorkload"/>, with its phases) is timed in the same run, so that the table
/// shows the sum of the parts beside the whole. The flags are the <c>step</c> command's
/// (<see cref="StepOptions"/>; CPU only). Prints a markdown table, then one JSON line.
/// </summary>
public static class ProfileCommand
{
    /// <summary>Runs the profile; returns the exit code (2 for bad arguments).</summary>
    public static int Run(IReadOnlyList<string> args) => Run(args, Console.Out, Console.Error);

    /// <summary>As <see cref="Run(IReadOnlyList{string})"/>, writing to the given streams.</summary>
    public static int Run(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        StepOptions o;
        try
        {
            o = StepOptions.Parse(args);
            if (o.Device.type != DeviceType.CPU) throw new ArgumentException($"profile runs on the CPU, not {o.Device}", "--device");
        }
        catch (ArgumentException e)
        {
            stderr.WriteLine($"profile: {e.Message}");
            return 2;
        }
        TorchRuntime.EnsureLoaded();
        set_num_threads(o.Threads);
        bool training = o.Mode == "train";
        var (whole, phases, faults) = WholeStep(o, training);
        var options = UNetOptions.Reference with { BaseFilters = o.Filters, InputSize = o.Size, ChannelsLast = o.ChannelsLast };
        manual_seed(0);
        using var master = new UNetModel(options);
        master.train(training);
        using var adam = training ? optim.Adam(master.parameters(), lr: 1e-4, eps: 1e-7) : null;
        using var mixed = o.Precision.WorkingCopy(master);
        var dtype = o.Precision.ComputeType() ?? ScalarType.Float32;
        var rows = new List<ProfileRow>();
        using (training ? null : inference_mode())
            foreach (var op in new UNetOps(options, mixed?.WorkingModule ?? master, dtype, o.ChannelsLast, training, o.Batch).Build())
            {
                var (f, b) = OpTimer.Time(op, o.Warmup, o.Steps);
                rows.Add(new(op.Name, op.Kind, op.Count, op.Count * f, op.Count * b, op.Count * (op.ForwardFlops + op.BackwardFlops)));
            }
        if (adam is not null)
            foreach (var (name, ms) in OpTimer.Optimizer(master, adam, mixed, o.Warmup, o.Steps))
                rows.Add(new(name, "optimizer", 1, ms, 0, 0));
        stdout.Write(ProfileReport.Markdown(rows, whole, phases));
        stdout.WriteLine($"minor page faults per whole step: {faults:F0}");
        stdout.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["command"] = "profile", ["mode"] = o.Mode, ["precision"] = o.PrecisionName, ["format"] = o.FormatName, ["batch"] = o.Batch,
            ["filters"] = o.Filters, ["size"] = o.Size, ["threads"] = get_num_threads(), ["warmup"] = o.Warmup, ["steps"] = o.Steps,
            ["step_ms"] = whole, ["phase_ms"] = phases, ["minor_faults_per_step"] = faults, ["ops"] = rows,
        }));
        return 0;
    }

    /// <summary>
    /// The whole step's mean milliseconds (timed steps only), when training its phases' (forward
    /// and loss, backward, optimizer), and the minor page faults per timed step (memory the
    /// kernel had to map and zero: 0 where /proc is missing).
    /// </summary>
    private static (double Whole, double[] Phases, double Faults) WholeStep(StepOptions o, bool training)
    {
        using var workload = new UNetWorkload(training, o.Batch, o.Precision, o.ChannelsLast, o.Filters, o.Size);
        var phases = new double[3];
        var warmupPhases = new double[3];
        double total = 0;
        long faults = 0;
        for (int i = 0; i < o.Warmup + o.Steps; i++)
        {
            if (i == o.Warmup) faults = MinorFaults();
            long start = Stopwatch.GetTimestamp();
            if (training) workload.TrainStep(i < o.Warmup ? warmupPhases : phases);
            else workload.InferStep();
            if (i >= o.Warmup) total += Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        faults = MinorFaults() - faults;
        return (total / o.Steps, training ? phases.Select(p => p * 1000 / o.Steps).ToArray() : [], (double)faults / o.Steps);
    }

    /// <summary>The process's minor page faults so far (field 10 of /proc/self/stat), 0 where there is none.</summary>
    private static long MinorFaults()
    {
        const string path = "/proc/self/stat";
        if (!File.Exists(path)) return 0;
        string stat = File.ReadAllText(path);
        // Fields after the command name, which is in parentheses and may hold spaces: state is field 3, minflt field 10.
        string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[7], System.Globalization.CultureInfo.InvariantCulture);
    }
}
