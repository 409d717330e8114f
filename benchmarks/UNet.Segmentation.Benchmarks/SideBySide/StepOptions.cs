using System.Globalization;
using UNet.Segmentation.Runtime;
using UNet.Segmentation.Training;
using static TorchSharp.torch;

namespace UNet.Segmentation.Benchmarks.SideBySide;

/// <summary>
/// The arguments of the <c>step</c> and <c>conv-rate</c> commands — the same flags, names and
/// defaults as benchmarks/side-by-side/peer_step.py, so the driver passes one argument list to both.
/// </summary>
public sealed record StepOptions
{
    public string Mode { get; init; } = "train";
    public int Batch { get; init; } = 1;
    public Precision Precision { get; init; } = Precision.Float32;
    public bool ChannelsLast { get; init; }
    public int Filters { get; init; } = 64;
    public int Size { get; init; } = 572;
    public int Warmup { get; init; } = 1;
    public int Steps { get; init; } = 3;
    public int Threads { get; init; } = Environment.ProcessorCount;
    public Device Device { get; init; } = CPU;
    /// <summary>Record the resident set every this many steps (0: never) — the memory-flatness run.</summary>
    public int RssEvery { get; init; }
    /// <summary><c>--phases 1</c>: also time a training step's phases (forward and loss, backward, optimizer with the working copy's casts).</summary>
    public bool Phases { get; init; }
    /// <summary><c>conv-rate --pass backward</c>: the rate of the convolutions' backward (input and weight gradients, twice the forward's FLOPs) instead of the forward's.</summary>
    public bool Backward { get; init; }
    /// <summary><c>conv-rate --dims 3</c>: 3×3×3 convolutions at the BraTS nnU-Net's shapes (contiguous only) instead of the U-Net's 3×3 ones.</summary>
    public int Dims { get; init; } = 2;

    /// <summary>Parses <c>--name value</c> pairs; an unknown flag or a bad value throws <see cref="ArgumentException"/> naming it.</summary>
    public static StepOptions Parse(IReadOnlyList<string> args)
    {
        var o = new StepOptions();
        for (int i = 0; i < args.Count; i += 2)
        {
            string flag = args[i];
            if (i + 1 >= args.Count) throw new ArgumentException($"{flag} needs a value", flag);
            string v = args[i + 1];
            o = flag switch
            {
                "--mode" => o with { Mode = v is "train" or "infer" ? v : throw Bad(flag, v, "train or infer") },
                "--precision" => o with { Precision = v switch { "fp32" => Precision.Float32, "bf16" => Precision.BFloat16, "fp16" => Precision.Float16, _ => throw Bad(flag, v, "fp32, bf16 or fp16") } },
                "--device" => o with { Device = ParseDevice(flag, v) },
                "--format" => o with { ChannelsLast = v switch { "contiguous" => false, "channels-last" => true, _ => throw Bad(flag, v, "contiguous or channels-last") } },
                "--batch" => o with { Batch = Positive(flag, v) },
                "--filters" => o with { Filters = Positive(flag, v) },
                "--size" => o with { Size = Positive(flag, v) },
                "--warmup" => o with { Warmup = NonNegative(flag, v) },
                "--steps" => o with { Steps = Positive(flag, v) },
                "--threads" => o with { Threads = Positive(flag, v) },
                "--rss-every" => o with { RssEvery = NonNegative(flag, v) },
                "--pass" => o with { Backward = v switch { "forward" => false, "backward" => true, _ => throw Bad(flag, v, "forward or backward") } },
                "--phases" => o with { Phases = v switch { "0" => false, "1" => true, _ => throw Bad(flag, v, "0 or 1") } },
                "--dims" => o with { Dims = v switch { "2" => 2, "3" => 3, _ => throw Bad(flag, v, "2 or 3") } },
                "--seed" => o,
                _ => throw new ArgumentException($"unknown flag {flag}", flag),
            };
        }
        if (o.Dims == 3 && o.ChannelsLast) throw new ArgumentException("--dims 3 with --format channels-last: the 3-D rate is measured contiguous only", "--format");
        return o;
    }

    public string PrecisionName => Precision switch { Precision.BFloat16 => "bf16", Precision.Float16 => "fp16", _ => "fp32" };
    public string FormatName => ChannelsLast ? "channels-last" : "contiguous";

    internal static int Positive(string flag, string v) =>
        int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0 ? n : throw Bad(flag, v, "a positive integer");

    internal static int NonNegative(string flag, string v) =>
        int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out int n) ? n : throw Bad(flag, v, "an integer ≥ 0");

    /// <summary>cpu, cuda or cuda:N through <see cref="Devices.Parse"/>, whose message (not a device, or no CUDA here) follows the flag.</summary>
    internal static Device ParseDevice(string flag, string v)
    {
        try { return Devices.Parse(v); }
        catch (ArgumentException e) { throw new ArgumentException($"{flag} {v}: {e.Message.Replace($" (Parameter '{e.ParamName}')", "", StringComparison.Ordinal)}", flag); }
    }

    internal static ArgumentException Bad(string flag, string value, string expected) => new($"{flag} {value}: expected {expected}", flag);
}
