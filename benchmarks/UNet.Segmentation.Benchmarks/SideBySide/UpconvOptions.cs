using static TorchSharp.torch;

namespace UNet.Segmentation.Benchmarks.SideBySide;

/// <summary>
/// The arguments of the <c>upconv</c> command: <c>--filters</c> scales the channels of the four
/// shapes (64, the default, gives the reference's 1024, 512, 256 and 128; 1 gives 16, 8, 4, 2 for
/// a quick check), <c>--warmup</c> and <c>--steps</c> count untimed and timed passes per shape and
/// form, <c>--threads</c> and <c>--device</c> as for <c>step</c>; <c>--precision fp32|bf16</c> and
/// <c>--format contiguous|channels-last</c> the type and layout of input and weight.
/// </summary>
public sealed record UpconvOptions
{
    public int Filters { get; init; } = 64;
    public int Warmup { get; init; } = 1;
    public int Steps { get; init; } = 5;
    public int Threads { get; init; } = Environment.ProcessorCount;
    public Device Device { get; init; } = CPU;
    public bool BFloat16 { get; init; }
    public bool ChannelsLast { get; init; }

    /// <summary>Parses <c>--name value</c> pairs; an unknown flag or a bad value throws <see cref="ArgumentException"/> naming it.</summary>
    public static UpconvOptions Parse(IReadOnlyList<string> args)
    {
        var o = new UpconvOptions();
        for (int i = 0; i < args.Count; i += 2)
        {
            string flag = args[i];
            if (i + 1 >= args.Count) throw new ArgumentException($"{flag} needs a value", flag);
            string v = args[i + 1];
            o = flag switch
            {
                "--filters" => o with { Filters = StepOptions.Positive(flag, v) },
                "--warmup" => o with { Warmup = StepOptions.NonNegative(flag, v) },
                "--steps" => o with { Steps = StepOptions.Positive(flag, v) },
                "--threads" => o with { Threads = StepOptions.Positive(flag, v) },
                "--device" => o with { Device = StepOptions.ParseDevice(flag, v) },
                "--precision" => o with { BFloat16 = v switch { "fp32" => false, "bf16" => true, _ => throw StepOptions.Bad(flag, v, "fp32 or bf16") } },
                "--format" => o with { ChannelsLast = v switch { "contiguous" => false, "channels-last" => true, _ => throw StepOptions.Bad(flag, v, "contiguous or channels-last") } },
                _ => throw new ArgumentException($"unknown flag {flag}", flag),
            };
        }
        return o;
    }
}
