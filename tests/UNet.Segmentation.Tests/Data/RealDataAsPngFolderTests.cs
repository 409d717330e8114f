using UNet.Segmentation.Tests.Shared;
using TorchSharp;
using UNet.Segmentation.Data;
using UNet.Segmentation.Imaging;
using UNet.Segmentation.Model;
using UNet.Segmentation.Training;
using static TorchSharp.torch;

namespace UNet.Segmentation.Tests.Data;

/// <summary>
/// The real ISBI 2012 slices turned into a PNG folder (images/ and masks/) train as the TIFF
/// volumes do: the same batches, and fold 0's DICE after the CPU recipe within 0.01.
/// </summary>
public sealed class RealDataAsPngFolderTests(ITestOutputHelper log) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("isbi-png-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void TheIsbiSlicesAsAPngFolderTrainFoldZeroAsTheTiffVolumesDo()
    {
        string isbi = Requirement.IsbiDirectory("the real ISBI 2012 files were not tested");
        var tiff = IsbiDataset.Load(isbi);
        Directory.CreateDirectory(Path.Combine(_dir, "images"));
        Directory.CreateDirectory(Path.Combine(_dir, "masks"));
        int area = tiff.Height * tiff.Width;
        for (int s = 0; s < tiff.TrainSlices; s++)
        {
            Png.WriteGray(Path.Combine(_dir, "images", $"slice-{s:D2}.png"), tiff.TrainImages.Span.Slice(s * area, area), tiff.Width, tiff.Height);
            Png.WriteGray(Path.Combine(_dir, "masks", $"slice-{s:D2}.png"), tiff.TrainLabels.Span.Slice(s * area, area), tiff.Width, tiff.Height);
        }
        var png = FolderDataset.Load(_dir);
        Assert.Equal((tiff.Count, 1, 2), (png.Count, png.ImageChannels, png.Classes));
        var fold = tiff.Fold(0);
        Assert.Equal(fold.Training, png.Fold(0).Training);
        Assert.Equal(fold.Validation, png.Fold(0).Validation);

        // The CPU recipe of the synthetic default (8 filters, batch 2, learning rate 1e-3, augmented), 150 steps.
        var options = DataOptions.Reference;
        using (var scope = NewDisposeScope())
        using (var a = tiff.TrainingBatches(fold.Training, 2, options, seed: 0, cancellation: TestContext.Current.CancellationToken))
        using (var b = png.TrainingBatches(fold.Training, 2, options, seed: 0, cancellation: TestContext.Current.CancellationToken))
            for (int i = 0; i < 3; i++)
            {
                using var x = a.Take(TestContext.Current.CancellationToken);
                using var y = b.Take(TestContext.Current.CancellationToken);
                Assert.True(x.Images.Equals(y.Images) && x.Classes.Equals(y.Classes), $"batch {i} differs between the TIFF volumes and the PNG folder");
            }

        double Train(SegmentationData data)
        {
            manual_seed(0);
            using var model = new UNetModel(UNetOptions.Reference with { BaseFilters = 8 });
            using var trainer = Trainer.For(model).WithSteps(150, 2).WithAdam(1e-3).WithLogging(50).Build();
            return trainer.Fit(data, fold).FinalEvaluation!.Metrics.ReferenceDice;
        }
        double fromTiff = Train(tiff), fromPng = Train(png);
        log.WriteLine($"fold 0, 150 steps of the CPU recipe: DICE {fromTiff:F4} from the TIFF volumes, {fromPng:F4} from the PNG folder");
        Assert.True(Math.Abs(fromTiff - fromPng) <= 0.01, $"DICE {fromTiff:F4} (TIFF) vs {fromPng:F4} (PNG)");
        Assert.True(fromTiff > 0.6, $"fold 0 did not learn: DICE {fromTiff:F4}");
    }
}
