using TorchSharp;
using static TorchSharp.torch;

namespace UNet.Segmentation.Data;

/// <summary>
/// One batch, owned by whoever takes it (dispose it): <see cref="Images"/> N×1×572×572 in
/// [−1, 1], <see cref="Labels"/> N×2×388×388 one-hot (channel 0 = membrane, 1 = interior),
/// <see cref="Classes"/> N×388×388 int64 class indices, and the slices it came from. Its tensors
/// belong to no dispose scope (they may be made on the loader's thread and used on another).
/// </summary>
public sealed class Batch : IDisposable
{
    internal Batch(long index, int[] slices, Tensor images, Tensor labels, Tensor classes)
    {
        Index = index;
        Slices = slices;
        Images = images.DetachFromDisposeScope();
        Labels = labels.DetachFromDisposeScope();
        Classes = classes.DetachFromDisposeScope();
    }

    /// <summary>Position of the batch in its stream (the resume point of a training run).</summary>
    public long Index { get; }
    /// <summary>The slice of each sample.</summary>
    public IReadOnlyList<int> Slices { get; }
    /// <summary>Network inputs.</summary>
    public Tensor Images { get; }
    /// <summary>One-hot labels at the output size.</summary>
    public Tensor Labels { get; }
    /// <summary>Class indices at the output size.</summary>
    public Tensor Classes { get; }

    /// <summary>Frees the tensors.</summary>
    public void Dispose()
    {
        Images.Dispose();
        Labels.Dispose();
        Classes.Dispose();
    }
}
