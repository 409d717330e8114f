using UNet.Segmentation.Data;
using UNet.Segmentation.Export;
using UNet.Segmentation.Imaging;
using UNet.Segmentation.Inference;
using UNet.Segmentation.Tests.Imaging;
using UNet.Segmentation.Tests.Shared;

namespace UNet.Segmentation.Tests.Export;

/// <summary>
/// <see cref="CalibrationImages"/>: ISBI folders, TIFF stacks, folders of images and single files
/// become named images scaled as the predictors scale them; bad paths are one clear error.
/// </summary>
public sealed class CalibrationImagesTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static byte[] Pixels(int count, int seed)
    {
        var bytes = new byte[count];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    [Fact]
    public void ATiffStack_GivesItsPagesScaledAsPredictionScalesThem_AndAnIsbiFolderItsTestVolume()
    {
        var pages = Pixels(3 * 20 * 30, 1);
        string isbi = Path.Combine(_dir.Path, "isbi");
        Directory.CreateDirectory(isbi);
        Tiff.Write(Path.Combine(isbi, "test-volume.tif"), new TiffVolume(3, 20, 30, pages));
        Tiff.Write(Path.Combine(isbi, "train-volume.tif"), new TiffVolume(1, 20, 30, Pixels(600, 2)));

        var images = CalibrationImages.Load(isbi);
        Assert.Equal(["test-volume.tif[0]", "test-volume.tif[1]", "test-volume.tif[2]"], images.Select(i => i.Name));
        var expected = FloatImages.FromGrayBytes(pages, 3, 20, 30);
        for (int p = 0; p < 3; p++)
        {
            Assert.Equal("[1, 1, 20, 30]", images[p].Pixels.ToString());
            Assert.Equal(expected.Image(p).ToArray(), images[p].Pixels.Data);
        }
        Assert.Equal(images.Select(i => i.Pixels.Data), CalibrationImages.Load(Path.Combine(isbi, "test-volume.tif")).Select(i => i.Pixels.Data));

        // Without a test volume the training volume is read.
        File.Delete(Path.Combine(isbi, "test-volume.tif"));
        Assert.Equal(["train-volume.tif[0]"], CalibrationImages.Load(isbi).Select(i => i.Name));
    }

    [Fact]
    public void A16BitStack_IsScaledBy32767_5_AndAFloatStackIsRefused()
    {
        string path = _dir.File("deep.tif");
        Tiff.Write(path, new TiffVolume(1, 2, 2, new ushort[] { 0, 65535, 32767, 1000 }));
        var image = Assert.Single(CalibrationImages.Load(path));
        Assert.Equal([-1f, 1f, 32767 / 32767.5f - 1f, 1000 / 32767.5f - 1f], image.Pixels.Data);

        string floats = _dir.File("float.tif");
        Tiff.Write(floats, new TiffVolume(1, 2, 2, new float[] { 0, 1, 0.5f, 0.25f }));
        var e = Assert.Throws<DataFileException>(() => CalibrationImages.Load(floats));
        Assert.Contains("8- or 16-bit", e.Message);
    }

    [Fact]
    public void AFolderOfImages_GivesEveryImageInNameOrder_GreyOrColour()
    {
        string folder = Path.Combine(_dir.Path, "images");
        Directory.CreateDirectory(folder);
        var grey = Pixels(12 * 10, 3);
        Png.WriteGray(Path.Combine(folder, "b.png"), grey, 12, 10);
        Png.WriteGray(Path.Combine(folder, "a.png"), Pixels(12 * 10, 4), 12, 10);
        File.WriteAllText(Path.Combine(folder, "notes.txt"), "not an image");
        var images = CalibrationImages.Load(folder);
        Assert.Equal(["a.png", "b.png"], images.Select(i => i.Name));
        Assert.Equal(FloatImages.FromGrayBytes(grey, 1, 10, 12).Data, images[1].Pixels.Data);

        string rgb = _dir.File("colour.png");
        Png.WriteRgb(rgb, Pixels(5 * 4 * 3, 5), 5, 4);
        var colour = Assert.Single(CalibrationImages.Load(rgb));
        Assert.Equal(("colour.png", "[1, 3, 4, 5]"), (colour.Name, colour.Pixels.ToString()));
    }

    [Fact]
    public void Spread_TakesEvenlySpacedImages_FirstAndLastIncluded()
    {
        var images = Enumerable.Range(0, 30).Select(i => CalibrationImage.FromGrayBytes($"s{i}", [(byte)i, 1], 1, 2)).ToList();
        Assert.Equal(["s0", "s4", "s8", "s12", "s17", "s21", "s25", "s29"], CalibrationImages.Spread(images, 8).Select(i => i.Name));
        Assert.Equal(["s0"], CalibrationImages.Spread(images, 1).Select(i => i.Name));
        Assert.Same(images, CalibrationImages.Spread(images, 30));
        Assert.Equal(3, CalibrationImages.Load(WriteStack(5), count: 3).Count);
    }

    private string WriteStack(int pages)
    {
        string path = _dir.File($"stack{pages}.tif");
        Tiff.Write(path, new TiffVolume(pages, 4, 4, Pixels(pages * 16, pages)));
        return path;
    }

    [Fact]
    public void BadPaths_AreOneClearError()
    {
        Assert.Contains("does not exist", Assert.Throws<FileNotFoundException>(() => CalibrationImages.Load(_dir.File("missing"))).Message);
        string empty = Path.Combine(_dir.Path, "empty");
        Directory.CreateDirectory(empty);
        Assert.Contains("holds no images", Assert.Throws<ArgumentException>(() => CalibrationImages.Load(empty)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => CalibrationImages.Load(WriteStack(2), count: 0));
        Assert.Throws<ArgumentException>(() => new CalibrationImage(" ", FloatImages.Zeros(1, 1, 2, 2)));
        Assert.Contains("holds 2", Assert.Throws<ArgumentException>(() => new CalibrationImage("two", FloatImages.Zeros(2, 1, 2, 2))).Message);
    }

    [Fact]
    public void TheRealIsbiFolder_GivesTheThirtyTestSlices()
    {
        string isbi = Requirement.IsbiDirectory("the real ISBI folder's calibration images");
        var images = CalibrationImages.Load(isbi, count: 8);
        Assert.Equal(["test-volume.tif[0]", "test-volume.tif[4]", "test-volume.tif[8]", "test-volume.tif[12]", "test-volume.tif[17]", "test-volume.tif[21]", "test-volume.tif[25]", "test-volume.tif[29]"],
            images.Select(i => i.Name));
        Assert.All(images, i => Assert.Equal("[1, 1, 512, 512]", i.Pixels.ToString()));
    }
}
