using System.Runtime.Intrinsics.X86;

namespace UNet.Segmentation.Tests.Export;

/// <summary>
/// Whether this x86-64 CPU has VNNI (AVX512_VNNI or AVX-VNNI), read with CPUID. The int8 accuracy
/// guarantees (docs/onnx.md) were measured on VNNI CPUs; without VNNI, ONNX Runtime's u8s8
/// kernels multiply-add through 16-bit saturating sums, and on an AVX2-only EPYC (Zen 3) the
/// masks agreed on 98.4 % of the pixels instead of 99.5 %.
/// </summary>
internal static class Vnni
{
    public static bool Present { get; } = Read();

    private static bool Read()
    {
        if (!X86Base.X64.IsSupported || X86Base.CpuId(0, 0).Eax < 7) return false;
        var leaf7 = X86Base.CpuId(7, 0);
        bool avx512 = Avx512F.IsSupported && (leaf7.Ecx & (1 << 11)) != 0;
        bool avx = leaf7.Eax >= 1 && Avx2.IsSupported && (X86Base.CpuId(7, 1).Eax & (1 << 4)) != 0;
        return avx512 || avx;
    }

    /// <summary>Ends the test as skipped, naming what was measured, on a CPU without VNNI.</summary>
    public static void RequireForAccuracy(string measured)
    {
        if (!Present)
            UNet.Segmentation.Tests.Shared.Requirement.Skip($"this CPU has no VNNI (AVX512_VNNI or AVX-VNNI), where ONNX Runtime's int8 kernels saturate: measured {measured}; the int8 accuracy guarantee is for VNNI CPUs");
    }
}
