using TorchSharp;
using UNet.Segmentation.Data;
using UNet.Segmentation.Inference;
using UNet.Segmentation.Model;

namespace UNet.Segmentation.Tests.Inference;

public sealed class PredictTrainingSlicesTests
{
    [Fact]
    public void TheSlicesComePageAfterPageAsPredictSliceGivesThemOneByOne_InBatches()
    {
        var data = IsbiDataset.Synthetic(new SyntheticEmOptions { Slices = 5, Size = 64 });
        torch.manual_seed(2);
        using var model = new UNetModel(UNetOptions.Reference with { BaseFilters = 2, Depth = 1, InputSize = 92 });
        using var predictor = new Predictor(model, PredictorOptions.Tiled with { BatchSize = 2 });
        int[] slices = [4, 1, 3];
        var pages = predictor.PredictTrainingSlices(data, slices);
        int area = 64 * 64;
        Assert.Equal(3 * area, pages.Length);
        for (int i = 0; i < slices.Length; i++)
        {
            var one = predictor.PredictSlice(data.TrainImages.Span.Slice(slices[i] * area, area), 64, 64);
            // Batched convolutions may round differently from single ones: equal within float32 noise.
            for (int p = 0; p < area; p++) Assert.True(Math.Abs(one[p] - pages[i * area + p]) <= 1e-5, $"slice {slices[i]}, pixel {p}: {one[p]} vs {pages[i * area + p]}");
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => predictor.PredictTrainingSlices(data, [5]));
    }
}
