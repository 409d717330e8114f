using TorchSharp;
using UNet.Segmentation.Data;
using UNet.Segmentation.Imaging;
using UNet.Segmentation.Inference;
using UNet.Segmentation.Model;
using UNet.Segmentation.Tests.Shared;
using static TorchSharp.torch;

namespace UNet.Segmentation.Tests.Data;

/// <summary>Your own data: folders of images and masks made by the test, read, checked, batched and predicted.</summary>
[Collection("LiveTensors")]
public sealed class FolderDatasetTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("folder-data-").FullName;
    private static readonly DataOptions Tiles = DataOptions.Reference with { InputMode = InputMode.OverlapTile, InputSize = 92, OutputSize = 52, Augment = false };

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A mask of K classes in stripes; the image repeats it as grey levels class·255/(K−1) (so image and mask can be matched).</summary>
    internal static (byte[] Image, byte[] Mask) Striped(int height, int width, int classes, int shift = 0)
    {
        var mask = new byte[height * width];
        var image = new byte[height * width];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int k = (y / 7 + x / 11 + shift) % classes;
                mask[y * width + x] = (byte)k;
                image[y * width + x] = (byte)(k * 255 / (classes - 1));
            }
        return (image, mask);
    }

    /// <summary>Writes images/ and masks/ (PNG, or TIFF masks) of the given sizes, plus test/ with one image.</summary>
    internal static void WriteFolder(string dir, int classes, (int H, int W)[] sizes, bool rgb = false, bool tiffMasks = false, bool binary255 = false)
    {
        Directory.CreateDirectory(Path.Combine(dir, "images"));
        Directory.CreateDirectory(Path.Combine(dir, "masks"));
        Directory.CreateDirectory(Path.Combine(dir, "test"));
        for (int i = 0; i < sizes.Length; i++)
        {
            var (h, w) = sizes[i];
            var (image, mask) = Striped(h, w, classes, i);
            if (binary255) mask = mask.Select(m => (byte)(m * 255)).ToArray();
            string name = $"item-{i:D2}";
            if (rgb) Png.WriteRgb(Path.Combine(dir, "images", name + ".png"), image.SelectMany(v => new[] { v, v, v }).ToArray(), w, h);
            else Png.WriteGray(Path.Combine(dir, "images", name + ".png"), image, w, h);
            if (tiffMasks) Tiff.Write(Path.Combine(dir, "masks", name + ".tif"), new TiffVolume(1, h, w, mask));
            else Png.WriteGray(Path.Combine(dir, "masks", name + ".png"), mask, w, h);
        }
        var (testImage, _) = Striped(70, 90, classes, 1);
        if (rgb) Png.WriteRgb(Path.Combine(dir, "test", "probe.png"), testImage.SelectMany(v => new[] { v, v, v }).ToArray(), 90, 70);
        else Png.WriteGray(Path.Combine(dir, "test", "probe.png"), testImage, 90, 70);
    }

    [Fact]
    public void AThreeClassFolderOfMixedSizes_LoadsAndBatchesWithImagesAndMasksAligned()
    {
        WriteFolder(_dir, 3, [(120, 150), (64, 80), (200, 90)]);
        var data = FolderDataset.Load(_dir, classes: 3);
        Assert.Equal((3, 1, 3), (data.Count, data.ImageChannels, data.Classes));
        Assert.Equal((64, 80), data.SizeOf(1));
        Assert.Equal(["probe.png"], data.TestFiles.Select(Path.GetFileName));
        Assert.Equal(["item-00.png", "item-01.png", "item-02.png"], data.ImageFiles.Select(Path.GetFileName));
        using var scope = NewDisposeScope();
        using var loader = data.TrainingBatches([0, 1, 2], 3, Tiles, seed: 2, cancellation: TestContext.Current.CancellationToken);
        for (int b = 0; b < 3; b++)
        {
            using var batch = loader.Take(TestContext.Current.CancellationToken);
            // The image's grey level class·127.5 scaled to [−1, 1] is class − 1 for three classes.
            var fromImage = batch.Images.narrow(2, 20, 52).narrow(3, 20, 52).squeeze(1).add(1).round().to(ScalarType.Int64);
            Assert.True(fromImage.equal(batch.Classes).all().item<bool>(), $"batch {b}: the image and the mask disagree");
            Assert.Equal(new long[] { 3, 3, 52, 52 }, batch.Labels.shape);
        }
    }

    [Fact]
    public void RgbImagesWithTiffMasks_AndZeroTo255BinaryMasks_Load()
    {
        WriteFolder(_dir, 2, [(60, 60), (70, 50)], rgb: true, tiffMasks: true);
        var rgb = FolderDataset.Load(_dir);
        Assert.Equal((3, 2), (rgb.ImageChannels, rgb.Classes));

        string binary = Path.Combine(_dir, "binary");
        WriteFolder(binary, 2, [(60, 60)], binary255: true);
        var data = FolderDataset.Load(binary);
        using var scope = NewDisposeScope();
        var batch = data.EvaluationBatches([0], 4, Tiles).Single();
        using (batch) Assert.Equal(new long[] { 0, 1 }, batch.Classes.unique().Item1.data<long>().ToArray());
        // 0/255 is two classes only: with three, 255 is out of range and named.
        var e = Assert.Throws<DataFileException>(() => FolderDataset.Load(binary, classes: 3));
        Assert.EndsWith("item-00.png", e.FilePath);
        Assert.Contains("has the value 255 at x=", e.Message);
        Assert.Contains("outside the 3 classes 0..2", e.Message);
    }

    [Fact]
    public void EveryBadFolderIsOneClearErrorNamingTheFile()
    {
        void Expect(string dir, string fileEnd, string text, int classes = 2)
        {
            var e = Assert.Throws<DataFileException>(() => FolderDataset.Load(dir, classes));
            Assert.EndsWith(fileEnd, e.FilePath);
            Assert.Contains(text, e.Message);
        }
        string Fresh(string name, int classes = 2)
        {
            string d = Path.Combine(_dir, name);
            WriteFolder(d, classes, [(40, 40), (50, 60)]);
            return d;
        }

        var d1 = Fresh("orphan-mask");
        File.Delete(Path.Combine(d1, "images", "item-01.png"));
        Expect(d1, Path.Combine("masks", "item-01.png"), "is a mask without an image");

        var d2 = Fresh("orphan-image");
        File.Delete(Path.Combine(d2, "masks", "item-00.png"));
        Expect(d2, Path.Combine("images", "item-00.png"), "is an image without a mask");

        var d3 = Fresh("sizes");
        Png.WriteGray(Path.Combine(d3, "masks", "item-01.png"), new byte[50 * 59], 59, 50);
        Expect(d3, Path.Combine("masks", "item-01.png"), "is 59x50 but its image");

        var d4 = Fresh("value", classes: 3);
        var (_, mask) = Striped(40, 40, 3);
        mask[40 * 5 + 7] = 9;
        Png.WriteGray(Path.Combine(d4, "masks", "item-00.png"), mask, 40, 40);
        Expect(d4, Path.Combine("masks", "item-00.png"), "has the value 9 at x=7, y=5, outside the 3 classes 0..2", classes: 3);

        var d5 = Fresh("channels");
        Png.WriteRgb(Path.Combine(d5, "images", "item-01.png"), new byte[50 * 60 * 3], 60, 50);
        Expect(d5, Path.Combine("images", "item-01.png"), "has 3 channel(s) but");

        var d6 = Fresh("corrupt");
        var bytes = File.ReadAllBytes(Path.Combine(d6, "images", "item-00.png"));
        File.WriteAllBytes(Path.Combine(d6, "images", "item-00.png"), bytes[..(bytes.Length / 2)]);
        Expect(d6, Path.Combine("images", "item-00.png"), "");

        var d7 = Fresh("twice");
        File.Copy(Path.Combine(d7, "images", "item-00.png"), Path.Combine(d7, "images", "item-00.tif"));
        Expect(d7, Path.Combine("images", "item-00.tif"), "has the same name as item-00.png");

        var d8 = Fresh("colour-mask");
        Png.WriteRgb(Path.Combine(d8, "masks", "item-00.png"), Enumerable.Range(0, 40 * 40 * 3).Select(i => (byte)(i % 3 == 0 ? 1 : 0)).ToArray(), 40, 40);
        Expect(d8, Path.Combine("masks", "item-00.png"), "is a colour mask");

        var d9 = Path.Combine(_dir, "empty");
        Directory.CreateDirectory(d9);
        var e9 = Assert.Throws<DataFileException>(() => FolderDataset.Load(d9));
        Assert.Contains("needs images/ and masks/", e9.Message);
    }

    [Fact]
    public void LoadingBatchingEvaluatingAndPredictingAFolderLeaveNoTensorBehind()
    {
        WriteFolder(_dir, 3, [(70, 90), (50, 60)], rgb: true);
        var data = FolderDataset.Load(_dir, classes: 3);
        manual_seed(1);
        using var model = new UNetModel(UNetOptions.Reference with { BaseFilters = 2, Depth = 1, InputSize = 92, InputChannels = 3, Classes = 3 });
        using var predictor = new Predictor(model, PredictorOptions.Tiled);
        predictor.PredictImageFile(data.TestFiles[0], Path.Combine(_dir, "warm")); // first call may create lasting state
        long baseline = LiveTensors.SettledCount();
        using (var loader = data.TrainingBatches([0, 1], 2, Tiles with { Augment = true }, seed: 1, cancellation: TestContext.Current.CancellationToken))
            for (int i = 0; i < 3; i++) loader.Take(TestContext.Current.CancellationToken).Dispose();
        foreach (var batch in data.EvaluationBatches([0, 1], 4, Tiles)) batch.Dispose();
        predictor.PredictImageFile(data.TestFiles[0], Path.Combine(_dir, "out"));
        Assert.Equal(baseline, LiveTensors.SettledCount());
    }

    [Fact]
    public void FoldsSplitTheFilesSeeded()
    {
        WriteFolder(_dir, 2, Enumerable.Range(0, 10).Select(i => (40 + i, 40)).ToArray());
        var data = FolderDataset.Load(_dir);
        var fold = data.Fold(1, folds: 5, FoldScheme.Disjoint, seed: 4);
        Assert.Equal(10, fold.Training.Count + fold.Validation.Count);
        Assert.Empty(fold.Training.Intersect(fold.Validation));
        Assert.Equal(fold.Validation, data.Fold(1, 5, FoldScheme.Disjoint, seed: 4).Validation);
        Assert.NotEqual(fold.Validation, data.Fold(1, 5, FoldScheme.Disjoint, seed: 5).Validation);
    }

    [Fact]
    public void PredictingAnImageFileWritesTheClassMaskTheOverlayAndOneProbabilityPagePerClass()
    {
        WriteFolder(_dir, 3, [(60, 60)]);
        manual_seed(1);
        using var model = new UNetModel(UNetOptions.Reference with { BaseFilters = 2, Depth = 1, InputSize = 92, Classes = 3 });
        using var predictor = new Predictor(model, PredictorOptions.Tiled);
        string output = Path.Combine(_dir, "out");
        var result = predictor.PredictImageFile(Path.Combine(_dir, "test", "probe.png"), output);
        Assert.Equal((70, 90), (result.Height, result.Width));
        var probabilities = Tiff.Read(result.ProbabilitiesPath);
        Assert.Equal((3, 70, 90), (probabilities.PageCount, probabilities.Height, probabilities.Width));
        var p = probabilities.GetFloat32();
        int area = 70 * 90;
        var mask = ImageFiles.Read(result.MaskPath);
        Assert.Equal((90, 70, 1), (mask.Width, mask.Height, mask.Channels));
        for (int i = 0; i < area; i += 97)
        {
            Assert.Equal(1.0, p[i] + p[area + i] + p[2 * area + i], 4);
            int best = p[i] >= p[area + i] && p[i] >= p[2 * area + i] ? 0 : p[area + i] >= p[2 * area + i] ? 1 : 2;
            Assert.Equal(best, (int)mask.Samples[i]);
        }
        Assert.Equal(1.0, result.ClassShares.Sum(), 6);
        var overlay = ImageFiles.Read(result.OverlayPath);
        Assert.Equal(3, overlay.Channels);
    }
}
