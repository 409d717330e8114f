using System.Runtime.InteropServices;
using UNet.Segmentation.Torch.Native;

namespace UNet.Segmentation.Torch.Distributed;

/// <summary>Owns one native store (uts_store).</summary>
internal sealed class StoreHandle : SafeHandle
{
    internal StoreHandle(IntPtr raw) : base(IntPtr.Zero, ownsHandle: true) => SetHandle(raw);

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle() => NativeMethods.uts_store_free(handle) == 0;
}

/// <summary>Owns one native process group (uts_process_group); freeing it stops its heartbeat thread.</summary>
internal sealed class ProcessGroupHandle : SafeHandle
{
    internal ProcessGroupHandle(IntPtr raw) : base(IntPtr.Zero, ownsHandle: true) => SetHandle(raw);

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle() => NativeMethods.uts_process_group_free(handle) == 0;
}
