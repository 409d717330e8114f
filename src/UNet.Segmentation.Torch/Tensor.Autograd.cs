using UNet.Segmentation.Torch.Native;
using static UNet.Segmentation.Torch.Native.NativeMethods;
using static UNet.Segmentation.Torch.Native.NativeStatus;

namespace UNet.Segmentation.Torch;

public partial class Tensor
{
    /// <summary>Whether autograd records operations on this tensor.</summary>
    public bool RequiresGrad
    {
        get { Check(uts_requires_grad(_handle, out byte r)); return r != 0; }
        set => Check(uts_set_requires_grad(_handle, value ? (byte)1 : (byte)0));
    }

    /// <summary>Sets <see cref="RequiresGrad"/> and returns this tensor.</summary>
    public Tensor RequiresGrad_(bool requiresGrad = true)
    {
        RequiresGrad = requiresGrad;
        return this;
    }

    /// <summary>True for tensors created by the user rather than by a recorded operation.</summary>
    public bool IsLeaf
    {
        get { Check(uts_is_leaf(_handle, out byte r)); return r != 0; }
    }

    /// <summary>Back-propagates from this tensor; a non-scalar output needs <paramref name="gradient"/>.</summary>
    public void Backward(Tensor? gradient = null, bool retainGraph = false)
    {
        using var g = new HandleLease(gradient);
        Check(uts_backward(_handle, g.Value, retainGraph ? (byte)1 : (byte)0));
    }

    /// <summary>The accumulated gradient as a new handle (owned by the current scope), or null.</summary>
    public Tensor? Grad
    {
        get
        {
            Check(uts_grad(_handle, out var r));
            return r == IntPtr.Zero ? null : new Tensor(r);
        }
        set
        {
            using var g = new HandleLease(value);
            Check(uts_set_grad(_handle, g.Value));
        }
    }
}

/// <summary>Autograd modes for the current thread.</summary>
public static class Autograd
{
    /// <summary>Whether operations on this thread are recorded for backward.</summary>
    public static bool IsGradEnabled
    {
        get { Check(uts_grad_enabled(out byte r)); return r != 0; }
    }

    /// <summary>Whether this thread is in inference mode.</summary>
    public static bool IsInferenceMode
    {
        get { Check(uts_is_inference_mode(out byte r)); return r != 0; }
    }

    /// <summary>Stops recording until disposed, then restores the previous mode: <c>using (Autograd.NoGrad()) { ... }</c>.</summary>
    public static GradModeScope NoGrad() => new(false);

    /// <summary>Records again inside a <see cref="NoGrad"/> block until disposed.</summary>
    public static GradModeScope EnableGrad() => new(true);

    /// <summary>
    /// libtorch's InferenceMode until disposed: no graph, no version counters, the fastest
    /// evaluation. Tensors made inside cannot later join autograd. Dispose on the same thread.
    /// </summary>
    public static InferenceModeScope InferenceMode() => new();

    /// <summary>Drops (or zeroes) the gradients of many tensors in one native call.</summary>
    public static unsafe void ZeroGrad(IReadOnlyList<Tensor> tensors, bool setToNone = true)
    {
        using var lease = new HandleArrayLease(tensors);
        fixed (IntPtr* p = lease.Values) Check(uts_zero_grads(p, lease.Values.Length, setToNone ? (byte)1 : (byte)0));
    }
}

/// <summary>Restores the previous grad mode when disposed.</summary>
public readonly struct GradModeScope : IDisposable
{
    private readonly bool _previous;

    internal GradModeScope(bool enabled)
    {
        Check(uts_grad_enabled(out byte previous));
        _previous = previous != 0;
        Check(uts_set_grad_enabled(enabled ? (byte)1 : (byte)0));
    }

    /// <summary>Restores the grad mode that was in force before.</summary>
    public void Dispose() => Check(uts_set_grad_enabled(_previous ? (byte)1 : (byte)0));
}

/// <summary>Leaves inference mode when disposed.</summary>
public sealed class InferenceModeScope : IDisposable
{
    private IntPtr _guard;
    private readonly int _threadId = Environment.CurrentManagedThreadId;

    internal InferenceModeScope()
    {
        Check(uts_inference_mode_enter(out _guard));
    }

    /// <summary>Leaves inference mode.</summary>
    public void Dispose()
    {
        if (_guard == IntPtr.Zero) return;
        if (Environment.CurrentManagedThreadId != _threadId)
            throw new InvalidOperationException("inference mode must be left on the thread that entered it");
        Check(uts_inference_mode_exit(_guard));
        _guard = IntPtr.Zero;
    }
}
