using TorchSharp;
using static TorchSharp.torch;

namespace UNet.Segmentation.Data;

/// <summary>The tensor side of <see cref="FolderImages"/>.</summary>
internal static class FolderImageTensors
{
    private static readonly Scalar One = 1.0.ToScalar();

    /// <summary>1×C×H×W float32 in [−1, 1]: x / Half − 1 (owned by the current dispose scope), the same operations as <see cref="Preprocessing.Images"/>.</summary>
    public static Tensor ToTensor(this FolderImages.Image image)
    {
        using var scope = NewDisposeScope();
        using Scalar half = image.Half.ToScalar();   // held until the call returns (see Training/Losses.cs, Two)
        return tensor(image.Samples, [1, image.Channels, image.Height, image.Width]).div(half).sub(One).MoveToOuterDisposeScope();
    }
}
