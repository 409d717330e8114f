using static UNet.Segmentation.Torch.Native.NativeMethods;
using static UNet.Segmentation.Torch.Native.NativeStatus;

namespace UNet.Segmentation.Torch;

/// <summary>
/// Automatic mixed precision, as torch.autocast: inside the scope, convolutions and matrix
/// products on the device type run in the lower precision while reductions and losses stay in
/// float32. CPU supports bfloat16; CUDA float16 (with a loss scaler) or bfloat16.
/// </summary>
public static class Autocast
{
    /// <summary>Turns autocast on for <paramref name="deviceType"/> on this thread until the scope is disposed (same thread, innermost first).</summary>
    public static AutocastScope Enable(DeviceType deviceType, ScalarType dtype) => new(deviceType, dtype);

    /// <summary>Whether autocast is on for a device type on this thread.</summary>
    public static bool IsEnabled(DeviceType deviceType)
    {
        Check(uts_autocast_is_enabled((int)deviceType, out byte r));
        return r != 0;
    }
}

/// <summary>Restores the previous autocast state when disposed.</summary>
public sealed class AutocastScope : IDisposable
{
    private IntPtr _guard;
    private readonly int _threadId = Environment.CurrentManagedThreadId;

    internal AutocastScope(DeviceType deviceType, ScalarType dtype) => Check(uts_autocast_enter((int)deviceType, (int)dtype, out _guard));

    /// <summary>Leaves the autocast region.</summary>
    public void Dispose()
    {
        if (_guard == IntPtr.Zero) return;
        if (Environment.CurrentManagedThreadId != _threadId)
            throw new InvalidOperationException("autocast must be left on the thread that entered it");
        Check(uts_autocast_exit(_guard));
        _guard = IntPtr.Zero;
    }
}
