namespace UNet.Segmentation.Inference;

/// <summary>The prediction pipeline on arrays: the options' input path, and flip test-time augmentation around it.</summary>
public static class ProbabilityMaps
{
    private static readonly (bool Horizontal, bool Vertical)[] Flips = [(true, false), (false, true), (true, true)];

    /// <summary>Probabilities N×K×H×W of images N×C×H×W (in [−1, 1]) as <paramref name="options"/> say.</summary>
    public static FloatImages Predict(FloatImages images, ISegmentationNetwork network, PredictionOptions options)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(options);
        var sum = Once(images, network, options);
        if (!options.FlipTta) return sum;
        foreach (var (horizontal, vertical) in Flips)
        {
            var flipped = Once(images.Flipped(horizontal, vertical), network, options).Flipped(horizontal, vertical);
            for (int i = 0; i < sum.Data.Length; i++) sum.Data[i] += flipped.Data[i];
        }
        for (int i = 0; i < sum.Data.Length; i++) sum.Data[i] /= Flips.Length + 1;
        return sum;
    }

    private static FloatImages Once(FloatImages images, ISegmentationNetwork network, PredictionOptions options) =>
        options.Input == InputMode.OverlapTile
            ? SlidingWindow.Predict(images, network, options.TileOverlap, options.GaussianBlending, options.BatchSize)
            : ReferenceResize.Predict(images, network, options.BatchSize);
}
