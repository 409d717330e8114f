using TorchSharp;
using static TorchSharp.torch;

namespace UNet.Segmentation.Data;

public sealed partial class IsbiDataset
{
    /// <inheritdoc/>
    protected override Tensor PrepareItem(int item, DataOptions options)
    {
        int area = Height * Width;
        return Preprocessing.Prepare(_trainImages.AsSpan(item * area, area), _trainLabels.AsSpan(item * area, area), 1, Height, Width, options);
    }

    /// <inheritdoc/>
    protected override (long Height, long Width) PreparedSize(int item, DataOptions options)
    {
        long margin = (options.InputSize - options.OutputSize) / 2;
        return options.InputMode == InputMode.OverlapTile ? (Height + 2 * margin, Width + 2 * margin) : (options.InputSize, options.InputSize);
    }
}
