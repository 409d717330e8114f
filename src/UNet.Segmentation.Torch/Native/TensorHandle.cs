using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace UNet.Segmentation.Torch.Native;

/// <summary>
/// Owns one native tensor handle. Freed at once by <see cref="Tensor.Dispose"/>; when only the
/// finalizer reaches it, the free is deferred to the next tensor created on a user thread (or to
/// <see cref="LibTorch.FreeDeferred"/>), so no native free ever runs on the finalizer thread.
/// </summary>
internal sealed class TensorHandle : SafeHandle
{
    private static readonly ConcurrentQueue<IntPtr> Deferred = new();
    private static int _deferredCount;
    private volatile bool _explicitRelease;

    internal TensorHandle(IntPtr raw) : base(IntPtr.Zero, ownsHandle: true) => SetHandle(raw);

    public override bool IsInvalid => handle == IntPtr.Zero;

    internal static int DeferredCount => Volatile.Read(ref _deferredCount);

    /// <summary>Releases now, on the calling thread.</summary>
    internal void ReleaseNow()
    {
        _explicitRelease = true;
        Dispose();
    }

    protected override bool ReleaseHandle()
    {
        if (_explicitRelease)
            return NativeMethods.uts_tensor_free(handle) == 0;
        Deferred.Enqueue(handle);
        Interlocked.Increment(ref _deferredCount);
        return true;
    }

    /// <summary>Frees the handles whose owners were only finalized. Runs on the caller's thread.</summary>
    internal static int FreeDeferred()
    {
        int freed = 0;
        while (Deferred.TryDequeue(out var raw))
        {
            Interlocked.Decrement(ref _deferredCount);
            NativeMethods.uts_tensor_free(raw);
            freed++;
        }
        return freed;
    }
}

/// <summary>
/// Keeps an optional tensor's handle alive for the length of one native call (the role the
/// SafeHandle marshaller plays for required arguments).
/// </summary>
internal ref struct HandleLease
{
    private readonly SafeHandle? _handle;
    private bool _added;

    public HandleLease(Tensor? tensor)
    {
        _handle = tensor?.Handle;
        _added = false;
        _handle?.DangerousAddRef(ref _added);
        Value = _handle?.DangerousGetHandle() ?? IntPtr.Zero;
    }

    public IntPtr Value { get; }

    public void Dispose()
    {
        if (_added) _handle!.DangerousRelease();
        _added = false;
    }
}

/// <summary>
/// Keeps a list of tensors' handles alive for one native call that takes an array of them;
/// throws <see cref="ObjectDisposedException"/> (through SafeHandle) when one is disposed.
/// </summary>
internal sealed class HandleArrayLease : IDisposable
{
    private readonly SafeHandle[] _handles;
    private readonly bool[] _added;

    public HandleArrayLease(IReadOnlyList<Tensor> tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        _handles = new SafeHandle[tensors.Count];
        _added = new bool[tensors.Count];
        Values = new IntPtr[tensors.Count];
        try
        {
            for (int i = 0; i < tensors.Count; i++)
            {
                var h = (tensors[i] ?? throw new ArgumentNullException(nameof(tensors), $"element {i} is null")).Handle;
                _handles[i] = h;
                h.DangerousAddRef(ref _added[i]);
                Values[i] = h.DangerousGetHandle();
                if (Values[i] == IntPtr.Zero) throw new ObjectDisposedException(nameof(Tensor), $"element {i} is disposed");
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The raw handles, valid until disposal.</summary>
    public IntPtr[] Values { get; }

    public void Dispose()
    {
        for (int i = 0; i < _handles.Length; i++)
        {
            if (_added[i]) _handles[i].DangerousRelease();
            _added[i] = false;
        }
    }
}
