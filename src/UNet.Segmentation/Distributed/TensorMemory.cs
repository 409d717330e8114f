using System.Runtime.InteropServices;
using TorchSharp;
using UNet.Segmentation.Runtime;

namespace UNet.Segmentation.Distributed;

/// <summary>
/// The address of a tensor's first element (host or device memory), for handing tensors to MPI
/// and NCCL: TorchSharp's exported <c>THSTensor_data</c> (libtorch's <c>Tensor::data_ptr()</c>,
/// storage offset included) on <see cref="torch.Tensor.Handle"/>. TorchSharp 0.107 has no public
/// accessor for it.
/// </summary>
internal static unsafe class TensorMemory
{
    private static readonly Lazy<nint> DataExport = new(Resolve);

    /// <summary>The address of <paramref name="tensor"/>'s data; it must be contiguous (collectives see a flat run of bytes).</summary>
    public static nint Address(torch.Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (!tensor.is_contiguous()) throw new ArgumentException("the tensor must be contiguous to be handed to a collective", nameof(tensor));
        if (tensor.numel() == 0) return 0;
        return ((delegate* unmanaged<nint, nint>)DataExport.Value)(tensor.Handle);
    }

    /// <summary>The tensor's size in bytes.</summary>
    public static long Bytes(torch.Tensor tensor) => tensor.numel() * tensor.ElementSize;

    private static nint Resolve()
    {
        TorchRuntime.EnsureLoaded();
        foreach (var candidate in NativeFiles.Candidates(AppContext.BaseDirectory, "LibTorchSharp").Append("LibTorchSharp"))
            if (NativeLibrary.TryLoad(candidate, out var lib) && NativeLibrary.TryGetExport(lib, "THSTensor_data", out var f))
                return f;
        throw new TorchNativeLibraryException("TorchSharp's native library does not export THSTensor_data, which the data-parallel collectives need", null);
    }
}
