using System.Runtime.InteropServices;

namespace UNet.Segmentation.Runtime;

/// <summary>
/// cuDNN's autotuner (<c>torch.backends.cudnn.benchmark</c> in PyTorch), which TorchSharp 0.107
/// does not expose: with it on, the first convolution of each shape tries cuDNN's algorithms and
/// keeps the fastest, which pays off when shapes repeat, as in U-Net training. Reached through
/// libtorch's exported <c>at::globalContext()</c> and <c>at::Context::setBenchmarkCuDNN(bool)</c>
/// (Itanium C++ ABI names), behind a probe: where libtorch lacks them, <see cref="TrySet"/>
/// returns false and nothing changes. The flag lives in libtorch's global context on every
/// backend; it has an effect only on CUDA.
/// </summary>
public static unsafe class CudnnBenchmark
{
    private const string Library = "libtorch_cpu";
    private static readonly Lazy<(nint Context, nint Set, nint Get)?> Exports = new(Probe);

    /// <summary>Whether this libtorch exports what the switch needs.</summary>
    public static bool IsAvailable => Exports.Value is not null;

    /// <summary>Turns the autotuner on or off; false (and no change) when libtorch does not export the switch.</summary>
    public static bool TrySet(bool enabled)
    {
        if (Exports.Value is not { } e) return false;
        var context = ((delegate* unmanaged<nint>)e.Context)();
        ((delegate* unmanaged<nint, byte, void>)e.Set)(context, enabled ? (byte)1 : (byte)0);
        return true;
    }

    /// <summary>The autotuner's current setting; null when libtorch does not export it.</summary>
    public static bool? Get()
    {
        if (Exports.Value is not { } e) return null;
        var context = ((delegate* unmanaged<nint>)e.Context)();
        return ((delegate* unmanaged<nint, byte>)e.Get)(context) != 0;
    }

    private static (nint, nint, nint)? Probe()
    {
        TorchRuntime.EnsureLoaded();
        // TorchSharp has loaded libtorch by now; this finds the loaded copy beside its own library.
        foreach (var candidate in NativeFiles.Candidates(AppContext.BaseDirectory, "torch_cpu").Append(Library))
        {
            if (!NativeLibrary.TryLoad(candidate, out var lib)) continue;
            if (NativeLibrary.TryGetExport(lib, "_ZN2at13globalContextEv", out var context)
                && NativeLibrary.TryGetExport(lib, "_ZN2at7Context17setBenchmarkCuDNNEb", out var set)
                && NativeLibrary.TryGetExport(lib, "_ZNK2at7Context14benchmarkCuDNNEv", out var get))
                return (context, set, get);
            return null;
        }
        return null;
    }
}
