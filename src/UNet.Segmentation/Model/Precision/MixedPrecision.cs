using TorchSharp;
using static TorchSharp.torch;

namespace UNet.Segmentation.Model.Precision;

/// <summary>
/// Mixed precision for the U-Net's blocks, in place of the autocast TorchSharp 0.107 lacks
/// (TorchSharp issue #899): inside <see cref="Enter"/>'s scope the convolutions and transposed
/// convolutions cast their input, weight and bias to the compute type, as torch.autocast would;
/// the weights stay float32 (master weights, their gradients flow back through the cast), and
/// losses and softmax run in float32 because <see cref="Training.Losses"/> casts the logits up.
/// bfloat16 runs on CPU and CUDA; float16 on CUDA only (with a loss scaler). The scope is per
/// thread, like TorchSharp's dispose scopes.
/// </summary>
public static class MixedPrecision
{
    [ThreadStatic] private static ScalarType? _computeType;

    /// <summary>The compute type of the innermost scope on this thread; null outside any (float32).</summary>
    public static ScalarType? ComputeType => _computeType;

    /// <summary>Runs the blocks' convolutions in <paramref name="dtype"/> on this thread until the scope is disposed.</summary>
    /// <exception cref="ArgumentException">The type is not bfloat16 or float16, or float16 on a device other than CUDA.</exception>
    public static MixedPrecisionScope Enter(ScalarType dtype, DeviceType device)
    {
        if (dtype is not (ScalarType.BFloat16 or ScalarType.Float16))
            throw new ArgumentException($"mixed precision computes in bfloat16 or float16, not {dtype}", nameof(dtype));
        if (dtype == ScalarType.Float16 && device != DeviceType.CUDA)
            throw new ArgumentException($"float16 mixed precision needs CUDA; on {device} use bfloat16", nameof(device));
        return new MixedPrecisionScope(dtype);
    }

    /// <summary>
    /// <paramref name="tensor"/> in the compute type when a scope is active and it is floating
    /// point, else a new handle on the same tensor: the caller may always dispose the result.
    /// </summary>
    public static Tensor Cast(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        return _computeType is { } dtype && tensor.is_floating_point() && tensor.dtype != dtype ? tensor.to(dtype) : tensor.alias();
    }

    internal static void Restore(ScalarType? previous) => _computeType = previous;

    internal static ScalarType? Swap(ScalarType? dtype)
    {
        var previous = _computeType;
        _computeType = dtype;
        return previous;
    }
}

/// <summary>Restores the previous compute type when disposed (on the thread that entered it).</summary>
public sealed class MixedPrecisionScope : IDisposable
{
    private readonly ScalarType? _previous;
    private readonly int _threadId = Environment.CurrentManagedThreadId;
    private bool _disposed;

    internal MixedPrecisionScope(ScalarType dtype) => _previous = MixedPrecision.Swap(dtype);

    /// <summary>Leaves the scope.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        if (Environment.CurrentManagedThreadId != _threadId)
            throw new InvalidOperationException("a mixed-precision scope must be left on the thread that entered it");
        _disposed = true;
        MixedPrecision.Restore(_previous);
    }
}
