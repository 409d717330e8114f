using TorchSharp;
using UNet.Segmentation.Runtime;
using static TorchSharp.torch;

namespace UNet.Segmentation.Cli;

/// <summary>
/// bfloat16 asked for by a flag on a CPU without bfloat16 instructions runs, as asked, but emulated
/// by libtorch and many times slower than float32 (docs/training.md): one warning line on stderr says
/// so and names the way back. A recipe's bfloat16 falls back to float32 there by itself (RunCommand).
/// </summary>
internal static class BFloat16Warning
{
    public static void IfEmulated(string flag, Device device)
    {
        if (device.type == DeviceType.CPU && !CpuBFloat16.IsNative)
            Console.Error.WriteLine($"warning: {flag}: this CPU has no bfloat16 instructions (AVX512_BF16 or AMX-BF16); libtorch emulates bfloat16 here, many times slower than float32");
    }
}
