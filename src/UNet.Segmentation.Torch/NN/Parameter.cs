namespace UNet.Segmentation.Torch.NN;

/// <summary>
/// A trainable tensor owned by a <see cref="Module"/>: a leaf that requires grad and belongs to
/// no <see cref="TensorScope"/>. It shares storage with the tensor it was made from.
/// </summary>
public sealed class Parameter : Tensor
{
    /// <summary>Makes a parameter viewing <paramref name="data"/>'s storage (the argument keeps its own ownership).</summary>
    public Parameter(Tensor data, bool requiresGrad = true) : base(DetachedHandle(data), track: false)
    {
        RequiresGrad = requiresGrad;
    }

    private static IntPtr DetachedHandle(Tensor data)
    {
        ArgumentNullException.ThrowIfNull(data);
        Native.NativeStatus.Check(Native.NativeMethods.uts_detach(data.Handle, out var raw));
        return raw;
    }
}
