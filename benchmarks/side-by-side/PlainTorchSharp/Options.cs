using System.Globalization;

namespace PlainTorchSharp;

/// <summary>The command line of benchmarks/side-by-side/peer_step.py, with its defaults.</summary>
public sealed record Options
{
    public string Mode { get; init; } = "";
    /// <summary>unet (the 2-D U-Net) or nnunet (the 3-D nnU-Net).</summary>
    public string Model { get; init; } = "unet";
    public int Batch { get; init; } = 1;
    public string Precision { get; init; } = "fp32";
    public string Device { get; init; } = "cpu";
    public string Format { get; init; } = "contiguous";
    public int? FiltersGiven { get; init; }
    public int? SizeGiven { get; init; }
    /// <summary>Filters at the top level: 64 for the U-Net, 32 for the nnU-Net, unless given.</summary>
    public int Filters => FiltersGiven ?? (Model == "nnunet" ? 32 : 64);
    /// <summary>The input's size: 572 for the U-Net, 128 (a cube) for the nnU-Net, unless given.</summary>
    public int Size => SizeGiven ?? (Model == "nnunet" ? 128 : 572);
    public int Warmup { get; init; } = 1;
    public int Steps { get; init; } = 3;
    public int Threads { get; init; } = Environment.ProcessorCount;
    public int Seed { get; init; }

    /// <summary>Parses <c>--name value</c> or <c>--name=value</c> pairs; throws <see cref="ArgumentException"/> on anything wrong.</summary>
    public static Options Parse(IReadOnlyList<string> args)
    {
        var o = new Options();
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i], name, value;
            int eq = arg.IndexOf('=');
            if (arg.StartsWith("--", StringComparison.Ordinal) && eq > 0) (name, value) = (arg[..eq], arg[(eq + 1)..]);
            else if (arg.StartsWith("--", StringComparison.Ordinal) && i + 1 < args.Count) (name, value) = (arg, args[++i]);
            else throw new ArgumentException($"expected --option value, got '{arg}'");
            o = name switch
            {
                "--mode" => o with { Mode = OneOf(name, value, "train", "infer") },
                "--model" => o with { Model = OneOf(name, value, "unet", "nnunet") },
                "--batch" => o with { Batch = Positive(name, value) },
                "--precision" => o with { Precision = OneOf(name, value, "fp32", "bf16", "fp16") },
                "--device" => o with { Device = value },
                "--format" => o with { Format = OneOf(name, value, "contiguous", "channels-last") },
                "--filters" => o with { FiltersGiven = Positive(name, value) },
                "--size" => o with { SizeGiven = Positive(name, value) },
                "--warmup" => o with { Warmup = NonNegative(name, value) },
                "--steps" => o with { Steps = Positive(name, value) },
                "--threads" => o with { Threads = Positive(name, value) },
                "--seed" => o with { Seed = NonNegative(name, value) },
                _ => throw new ArgumentException($"unknown option {name}"),
            };
        }
        if (o.Mode == "") throw new ArgumentException("--mode train|infer is required");
        if (o.Precision != "fp32")
            throw new ArgumentException($"--precision {o.Precision}: the plain TorchSharp form is float32 only (no mixed precision)");
        if (o.Format != "contiguous")
            throw new ArgumentException($"--format {o.Format}: the plain TorchSharp form is contiguous only (no channels-last)");
        if (!o.Device.StartsWith("cpu", StringComparison.Ordinal) && !TorchSharp.torch.cuda.is_available())
            throw new ArgumentException($"--device {o.Device}: CUDA is not available (this build uses TorchSharp-cpu)");
        if (o.Model == "unet" && o.Filters % 2 != 0) throw new ArgumentException("--filters must be even");
        return o;
    }

    private static string OneOf(string name, string value, params string[] allowed) =>
        allowed.Contains(value) ? value : throw new ArgumentException($"{name} must be one of {string.Join(", ", allowed)}, got '{value}'");

    private static int Positive(string name, string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0
            ? n : throw new ArgumentException($"{name} must be a positive integer, got '{value}'");

    private static int NonNegative(string name, string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int n)
            ? n : throw new ArgumentException($"{name} must be a non-negative integer, got '{value}'");
}
