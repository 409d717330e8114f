using static TorchSharp.torch;

namespace UNet.Segmentation.Data;

/// <summary>The tensor side of <see cref="FolderImages"/>.</summary>
internal static class FolderImageTensors
{
    /// <summary>1×C×H×W float32 in [−1, 1]: x / Half − 1 (owned by the current dispose scope), the same operations as <see cref="Preprocessing.Images"/>.</summary>
    public static Tensor ToTensor(this FolderImages.Image image)
    {
        using var scope = NewDisposeScope();
        return tensor(image.Samples, [1, image.Channels, image.Height, image.Width]).div(image.Half).sub(1.0).MoveToOuterDisposeScope();
    }
}
