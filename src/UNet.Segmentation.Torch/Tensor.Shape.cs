using UNet.Segmentation.Torch.Native;
using static UNet.Segmentation.Torch.Native.NativeMethods;
using static UNet.Segmentation.Torch.Native.NativeStatus;

namespace UNet.Segmentation.Torch;

/// <summary>Padding modes for <see cref="Tensor.Pad"/>.</summary>
public enum PaddingMode
{
    /// <summary>A constant value.</summary>
    Constant = 0,
    /// <summary>Mirror without repeating the edge (dcb|abcd|cba).</summary>
    Reflect = 1,
    /// <summary>Repeat the edge value.</summary>
    Replicate = 2,
}

public partial class Tensor
{
    /// <summary>The same elements in a new shape (a view when possible); one size may be −1.</summary>
    public unsafe Tensor Reshape(params ReadOnlySpan<long> shape)
    {
        fixed (long* s = shape) return Result(uts_reshape(_handle, s, shape.Length, out var r), r);
    }

    /// <summary>A view with a new shape; fails when the strides do not allow one.</summary>
    public unsafe Tensor View(params ReadOnlySpan<long> shape)
    {
        fixed (long* s = shape) return Result(uts_view(_handle, s, shape.Length, out var r), r);
    }

    /// <summary>Broadcasts size-1 dimensions to <paramref name="shape"/> without copying.</summary>
    public unsafe Tensor Expand(params ReadOnlySpan<long> shape)
    {
        fixed (long* s = shape) return Result(uts_expand(_handle, s, shape.Length, out var r), r);
    }

    /// <summary>Tiles the tensor.</summary>
    public unsafe Tensor Repeat(params ReadOnlySpan<long> repeats)
    {
        fixed (long* s = repeats) return Result(uts_repeat(_handle, s, repeats.Length, out var r), r);
    }

    /// <summary>Reorders dimensions.</summary>
    public unsafe Tensor Permute(params ReadOnlySpan<long> dims)
    {
        fixed (long* s = dims) return Result(uts_permute(_handle, s, dims.Length, out var r), r);
    }

    /// <summary>Swaps two dimensions.</summary>
    public Tensor Transpose(long dim0, long dim1) => Result(uts_transpose(_handle, dim0, dim1, out var r), r);

    /// <summary>Drops size-1 dimensions (all, or only <paramref name="dim"/>).</summary>
    public Tensor Squeeze(long? dim = null) => Result(uts_squeeze(_handle, dim.HasValue ? (byte)1 : (byte)0, dim ?? 0, out var r), r);

    /// <summary>Inserts a size-1 dimension.</summary>
    public Tensor Unsqueeze(long dim) => Result(uts_unsqueeze(_handle, dim, out var r), r);

    /// <summary>Merges dimensions start..end into one.</summary>
    public Tensor Flatten(long startDim = 0, long endDim = -1) => Result(uts_flatten(_handle, startDim, endDim, out var r), r);

    /// <summary>A view of <paramref name="length"/> entries from <paramref name="start"/> along a dimension.</summary>
    public Tensor Narrow(long dim, long start, long length) => Result(uts_narrow(_handle, dim, start, length, out var r), r);

    /// <summary>A view of start..end (exclusive, clamped) with a step along a dimension.</summary>
    public Tensor Slice(long dim, long start, long end, long step = 1)
    {
        if (step <= 0) throw new ArgumentOutOfRangeException(nameof(step), step, "step must be positive");
        return Result(uts_slice(_handle, dim, start, end, step, out var r), r);
    }

    /// <summary>The sub-tensor at one index of a dimension (that dimension removed).</summary>
    public Tensor Select(long dim, long index) => Result(uts_select(_handle, dim, index, out var r), r);

    /// <summary>Gathers whole slices along a dimension by an int64 index tensor.</summary>
    public Tensor IndexSelect(long dim, Tensor index) => Result(uts_index_select(_handle, dim, index.Handle, out var r), r);

    /// <summary>Reverses the order along the given dimensions.</summary>
    public unsafe Tensor Flip(params ReadOnlySpan<long> dims)
    {
        fixed (long* s = dims) return Result(uts_flip(_handle, s, dims.Length, out var r), r);
    }

    /// <summary>Pads with (before, after) pairs from the last dimension backwards, as torch.nn.functional.pad.</summary>
    public unsafe Tensor Pad(ReadOnlySpan<long> pads, PaddingMode mode = PaddingMode.Constant, double value = 0)
    {
        if (pads.Length % 2 != 0) throw new ArgumentException("padding needs (before, after) pairs", nameof(pads));
        fixed (long* s = pads) return Result(uts_pad(_handle, s, pads.Length, (int)mode, value, out var r), r);
    }

    /// <summary>One-hot encoding of an int64 class-index tensor: adds a last dimension of <paramref name="numClasses"/>.</summary>
    public Tensor OneHot(long numClasses) => Result(uts_one_hot(_handle, numClasses, out var r), r);

    /// <summary>Joins tensors along an existing dimension.</summary>
    public static Tensor Cat(IReadOnlyList<Tensor> tensors, long dim = 0) => Join(tensors, dim, stack: false);

    /// <summary>Joins tensors along a new dimension.</summary>
    public static Tensor Stack(IReadOnlyList<Tensor> tensors, long dim = 0) => Join(tensors, dim, stack: true);

    private static unsafe Tensor Join(IReadOnlyList<Tensor> tensors, long dim, bool stack)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        if (tensors.Count == 0) throw new ArgumentException("need at least one tensor", nameof(tensors));
        using var lease = new HandleArrayLease(tensors);
        fixed (IntPtr* p = lease.Values)
        {
            int status = stack ? uts_stack(p, tensors.Count, dim, out var r) : uts_cat(p, tensors.Count, dim, out r);
            return Result(status, r);
        }
    }
}
