using System.Globalization;
using TorchSharp;
using UNet.Segmentation.Runtime;
using UNet.Segmentation.Training;
using static TorchSharp.torch;

namespace UNet.Segmentation.Benchmarks.Workloads;

/// <summary>
/// The parameter grid of the U-Net suites, each axis narrowable from the environment (BenchmarkDotNet
/// filters by name, not by parameter): <c>UNET_BENCH_BATCH=1,2</c>, <c>UNET_BENCH_PRECISION=BFloat16</c>,
/// <c>UNET_BENCH_DEVICE=cuda</c>, <c>UNET_BENCH_CHANNELS_LAST=true</c>, <c>UNET_BENCH_FILTERS=16</c>,
/// <c>UNET_BENCH_SIZE=572</c>. A value that does not parse stops the run with the variable's name.
/// </summary>
public static class BenchParams
{
    /// <summary>Batch sizes: 1, 2, 8.</summary>
    public static IEnumerable<int> Batches => Ints("UNET_BENCH_BATCH", 1, 2, 8);

    /// <summary>Base filters: the reference's 64 and a small 16.</summary>
    public static IEnumerable<int> Filters => Ints("UNET_BENCH_FILTERS", 64, 16);

    /// <summary>Input size: the reference's 572.</summary>
    public static IEnumerable<int> Sizes => Ints("UNET_BENCH_SIZE", 572);

    /// <summary>Float32, bfloat16 mixed precision, and float16 mixed precision where CUDA is present.</summary>
    public static IEnumerable<Precision> Precisions => Parse<Precision>("UNET_BENCH_PRECISION",
        CudaIsAvailable ? [Precision.Float32, Precision.BFloat16, Precision.Float16] : [Precision.Float32, Precision.BFloat16],
        s => Enum.TryParse<Precision>(s, ignoreCase: true, out var p) && Enum.IsDefined(p) ? p : null);

    /// <summary>The CPU, and cuda:0 where CUDA is present (<c>cpu</c>, <c>cuda</c>, <c>cuda:N</c>).</summary>
    public static IEnumerable<Device> Devices => ParseClass<Device>("UNET_BENCH_DEVICE",
        CudaIsAvailable ? [CPU, new Device(DeviceType.CUDA, 0)] : [CPU],
        s => { try { return Runtime.Devices.Parse(s); } catch (ArgumentException) { return null; } });

    /// <summary>Whether TorchSharp sees a CUDA device (the backend package and a GPU).</summary>
    public static bool CudaIsAvailable
    {
        get
        {
            TorchRuntime.EnsureLoaded();
            return torch.cuda.is_available();
        }
    }

    /// <summary>
    /// Every device × precision pair that runs: float16 mixed precision only on CUDA (on the CPU
    /// the library offers bfloat16).
    /// </summary>
    public static IEnumerable<BenchTarget> Targets =>
        from d in Devices from p in Precisions
        where p != Precision.Float16 || d.type == DeviceType.CUDA
        select new BenchTarget(d, p);

    /// <summary>Contiguous (false) and channels-last (true).</summary>
    public static IEnumerable<bool> ChannelsLast => Parse("UNET_BENCH_CHANNELS_LAST", [false, true],
        s => bool.TryParse(s, out bool b) ? b : null);

    private static IEnumerable<int> Ints(string name, params int[] defaults) => Parse(name, defaults,
        s => int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out int v) && v > 0 ? v : null);

    internal static IEnumerable<T> Parse<T>(string name, T[] defaults, Func<string, T?> parse) where T : struct =>
        Split(name, defaults, s => parse(s) is { } v ? v : throw Invalid(name, s, defaults));

    private static IEnumerable<T> ParseClass<T>(string name, T[] defaults, Func<string, T?> parse) where T : class =>
        Split(name, defaults, s => parse(s) ?? throw Invalid(name, s, defaults));

    private static IEnumerable<T> Split<T>(string name, T[] defaults, Func<string, T> parse)
    {
        string? text = Environment.GetEnvironmentVariable(name);
        if (string.IsNullOrWhiteSpace(text)) return defaults;
        return text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(parse).ToArray();
    }

    private static ArgumentException Invalid<T>(string name, string value, T[] defaults) =>
        new($"{name}: '{value}' is not a valid value (defaults: {string.Join(",", defaults)})", name);
}

/// <summary>
/// Where and in which precision a suite runs; shown as e.g. <c>cpu/BFloat16</c>. Two targets are
/// equal when their devices have the same name (TorchSharp's <see cref="torch.Device"/> compares
/// by reference).
/// </summary>
public readonly record struct BenchTarget(Device Device, Precision Precision)
{
    /// <inheritdoc />
    public override string ToString() => $"{Device}/{Precision}";

    /// <inheritdoc />
    public bool Equals(BenchTarget other) => Precision == other.Precision && string.Equals(Device?.ToString(), other.Device?.ToString(), StringComparison.Ordinal);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Device?.ToString(), Precision);
}
