using TorchSharp;
using UNet.Segmentation.Data;
using UNet.Segmentation.Model;
using UNet.Segmentation.Training;
using static TorchSharp.torch;

namespace UNet.Segmentation.Tests.Data;

/// <summary>
/// K classes and RGB images through the pipeline, with a dataset made in the test: items of
/// different sizes whose image encodes the mask (so alignment of image and label can be checked).
/// </summary>
public sealed class MultiClassDataTests
{
    private static readonly DataOptions Tiles = DataOptions.Reference with { InputMode = InputMode.OverlapTile, InputSize = 92, OutputSize = 52, Augment = false };

    /// <summary>
    /// Items of the given sizes; the mask is a pattern of stripes of the K classes, and every
    /// channel of the image is the class index scaled to [−1, 1], so image and mask must agree.
    /// </summary>
    internal sealed class StripedData(int classes, int channels, params (int Height, int Width)[] sizes) : SegmentationData
    {
        public override string Source => "striped test data";
        public override int Count => sizes.Length;
        public override int ImageChannels => channels;
        public override int Classes => classes;

        public Tensor Mask(int item)
        {
            var (h, w) = sizes[item];
            var y = arange(h).unsqueeze(1);
            var x = arange(w).unsqueeze(0);
            return y.div(7, rounding_mode: RoundingMode.floor).add(x.div(11, rounding_mode: RoundingMode.floor)).remainder(classes).unsqueeze(0);
        }

        protected override Tensor PrepareItem(int item, DataOptions options)
        {
            var mask = Mask(item);
            var image = mask.to(ScalarType.Float32).mul(2.0 / (classes - 1)).sub(1).unsqueeze(1).expand(1, channels, -1, -1);
            return Preprocessing.Prepare(image, Preprocessing.LabelChannels(mask, classes), options);
        }

        protected override (long Height, long Width) PreparedSize(int item, DataOptions options)
        {
            long m = (options.InputSize - options.OutputSize) / 2;
            return options.InputMode == InputMode.OverlapTile
                ? (Math.Max(sizes[item].Height, options.OutputSize) + 2 * m, Math.Max(sizes[item].Width, options.OutputSize) + 2 * m)
                : (options.InputSize, options.InputSize);
        }
    }

    [Fact]
    public void LabelChannels_AreTheClassOneMapForTwoClasses_AndOneHotForMore()
    {
        using var scope = NewDisposeScope();
        var classes = tensor(new long[] { 0, 1, 2, 1 }, [1, 2, 2]);
        var three = Preprocessing.LabelChannels(classes, 3);
        Assert.Equal(new long[] { 1, 3, 2, 2 }, three.shape);
        Assert.Equal(new float[] { 1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 1, 0 }, three.data<float>().ToArray());
        var two = Preprocessing.LabelChannels(classes.clamp(0, 1), 2);
        Assert.Equal(new long[] { 1, 1, 2, 2 }, two.shape);
        Assert.Equal(new float[] { 0, 1, 1, 1 }, two.data<float>().ToArray());
    }

    [Fact]
    public void TrainingTilesOfItemsOfAnySize_KeepImageAndMaskAligned_ForThreeClassesAndRgb()
    {
        using var scope = NewDisposeScope();
        // One item larger than a tile, one smaller than the output size (padded up to it), one odd.
        var data = new StripedData(3, 3, (130, 170), (40, 30), (61, 97));
        using var loader = data.TrainingBatches([0, 1, 2], batchSize: 3, Tiles, seed: 5, cancellation: TestContext.Current.CancellationToken);
        for (int b = 0; b < 4; b++)
        {
            using var batch = loader.Take(TestContext.Current.CancellationToken);
            Assert.Equal(new long[] { 3, 3, 92, 92 }, batch.Images.shape);
            Assert.Equal(new long[] { 3, 3, 52, 52 }, batch.Labels.shape);
            Assert.Equal(new long[] { 3, 52, 52 }, batch.Classes.shape);
            var centre = batch.Images.narrow(2, 20, 52).narrow(3, 20, 52);
            var fromImage = centre.add(1).mul(1.0).round().to(ScalarType.Int64); // (class·2/(K−1) − 1 + 1)·(K−1)/2 = class for K = 3
            for (int c = 0; c < 3; c++) Assert.True(fromImage.select(1, c).equal(batch.Classes).all().item<bool>(), $"batch {b}: channel {c} and the mask disagree");
            Assert.True(batch.Labels.argmax(1).equal(batch.Classes).all().item<bool>());
            Assert.True(batch.Labels.sum(1).eq(1).all().item<bool>());
        }
    }

    [Fact]
    public void EvaluationTilesCoverEveryItem()
    {
        using var scope = NewDisposeScope();
        var data = new StripedData(4, 1, (130, 170), (40, 30));
        var batches = data.EvaluationBatches([0, 1], 16, Tiles).ToList();
        try
        {
            // Output windows of 52 cover 130 rows from 0, 52, 78 and 170 columns from 0, 52, 104, 118;
            // the 40x30 item is padded up to one tile.
            Assert.Equal(3 * 4 + 1, batches.Sum(b => b.Images.shape[0]));
            Assert.Equal([0L, 52, 78], SegmentationData.TileOffsets(130 + 40, Tiles));
            Assert.Equal([0L, 52, 104, 118], SegmentationData.TileOffsets(170 + 40, Tiles));
            Assert.Equal([0L], SegmentationData.TileOffsets(52 + 40, Tiles));
        }
        finally
        {
            foreach (var b in batches) b.Dispose();
        }
    }

    [Fact]
    public void AThreeClassRgbModelTrainsAndEvaluatesPerClass()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        var data = new StripedData(3, 3, (120, 120), (100, 140), (90, 90), (130, 100));
        using var model = new UNetModel(UNetOptions.Reference with { BaseFilters = 4, Depth = 2, InputSize = 92, DropoutRate = 0, InputChannels = 3, Classes = 3 });
        using var trainer = Trainer.For(model).WithData(Tiles).WithSteps(30, 2).WithAdam(3e-3).WithLogging(10).Build();
        var before = trainer.Evaluate(data, [0, 1]);
        var result = trainer.Fit(data, new FoldSplit(0, [0, 1, 2, 3], [0, 1]), cancellation: TestContext.Current.CancellationToken);
        var after = result.FinalEvaluation!.Metrics;
        Assert.Equal(3, after.Classes);
        Assert.True(after.TotalLoss < before.TotalLoss, $"the loss did not fall: {before.TotalLoss:F4} -> {after.TotalLoss:F4}");
    }

    [Fact]
    public void DataThatDoesNotFitTheModelIsRefusedNamingBoth()
    {
        var data = new StripedData(3, 3, (120, 120));
        using var model = new UNetModel(UNetOptions.Reference with { BaseFilters = 2, Depth = 1, InputSize = 92 });
        using var trainer = Trainer.For(model).WithData(Tiles with { OutputSize = model.OutputSize(92) }).Build();
        var e = Assert.Throws<ArgumentException>(() => trainer.Evaluate(data, [0]));
        Assert.Contains("striped test data has 3-channel images and 3 classes; the model takes 1 channel(s) and predicts 2 classes", e.Message);
    }
}
