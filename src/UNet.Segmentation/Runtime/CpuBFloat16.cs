using System.Runtime.Intrinsics.X86;
using TorchSharp;
using UNet.Segmentation.Training;
using static TorchSharp.torch;

namespace UNet.Segmentation.Runtime;

/// <summary>
/// Whether this CPU computes bfloat16 in hardware — AVX512_BF16 (AMD Zen 4 and newer, Intel Cooper
/// Lake, Sapphire Rapids and newer) or AMX-BF16 — which is where libtorch's oneDNN convolutions run
/// bfloat16 fast. Elsewhere libtorch emulates it: on an AVX2-only AMD EPYC (Zen 3) the cpu-fast
/// recipe's bfloat16 training step took 27.6 s against 1.9 s in float32 (docs/training.md), so a
/// recipe's bfloat16 becomes float32 there (<see cref="ForDevice"/>). Read with CPUID; on a CPU
/// that is not x86-64 (Arm) it answers false, so recipes train in float32 there.
/// </summary>
public static class CpuBFloat16
{
    private static readonly (bool Avx512Bf16, bool AmxBf16) Features = Read();

    /// <summary>True when the CPU has AVX512_BF16 (with AVX-512 enabled by the OS) or AMX-BF16.</summary>
    public static bool IsNative => Features.Avx512Bf16 || Features.AmxBf16;

    /// <summary>The bfloat16 instructions found: "AVX512_BF16", "AMX-BF16", both, or "none".</summary>
    public static string Instructions =>
        string.Join(", ", new[] { Features.Avx512Bf16 ? "AVX512_BF16" : null, Features.AmxBf16 ? "AMX-BF16" : null }.OfType<string>()) is { Length: > 0 } found ? found : "none";

    /// <summary>
    /// The precision a recipe's <paramref name="precision"/> runs in on <paramref name="device"/>:
    /// bfloat16 on a CPU without <see cref="IsNative"/> bfloat16 becomes float32; everything else
    /// (CUDA, float32, float16) is returned as it is.
    /// </summary>
    public static Precision ForDevice(Precision precision, Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        return precision == Precision.BFloat16 && device.type == DeviceType.CPU && !IsNative ? Precision.Float32 : precision;
    }

    /// <summary>One line for a log when <see cref="ForDevice"/> turned bfloat16 into float32.</summary>
    public static string FallbackNote(string what) =>
        $"{what}: this CPU has no bfloat16 instructions (AVX512_BF16 or AMX-BF16), where libtorch emulates bfloat16 many times slower than float32, so it runs in float32";

    private static (bool, bool) Read()
    {
        if (!X86Base.X64.IsSupported || X86Base.CpuId(0, 0).Eax < 7) return (false, false);
        var leaf7 = X86Base.CpuId(7, 0);
        bool amx = (leaf7.Edx & (1 << 22)) != 0;
        bool avx512 = leaf7.Eax >= 1 && Avx512F.IsSupported && (X86Base.CpuId(7, 1).Eax & (1 << 5)) != 0;
        return (avx512, amx);
    }
}
