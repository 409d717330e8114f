using UNet.Segmentation.Data;
using UNet.Segmentation.Imaging;
using UNet.Segmentation.Tests.Shared;

namespace UNet.Segmentation.Tests.Data;

public sealed class IsbiDatasetTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("isbi-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Writes a small ISBI-style folder: pages of a ramp image and a checkerboard label.</summary>
    internal static void WriteFolder(string dir, int pages = 4, int size = 64, int labelPages = -1, int labelSize = -1, byte? strayLabel = null)
    {
        var images = new byte[pages * size * size];
        for (int i = 0; i < images.Length; i++) images[i] = (byte)((i % size) * 4 + i / (size * size));
        int lp = labelPages < 0 ? pages : labelPages, ls = labelSize < 0 ? size : labelSize;
        var labels = new byte[lp * ls * ls];
        for (int i = 0; i < labels.Length; i++) labels[i] = (byte)(((i % ls) / 8 + (i / ls % ls) / 8) % 4 == 0 ? 0 : 255);
        if (strayLabel is { } v) labels[labels.Length / 2 + 3] = v;
        Tiff.Write(Path.Combine(dir, "train-volume.tif"), new TiffVolume(pages, size, size, images));
        Tiff.Write(Path.Combine(dir, "train-labels.tif"), new TiffVolume(lp, ls, ls, labels));
        Tiff.Write(Path.Combine(dir, "test-volume.tif"), new TiffVolume(pages, size, size, images));
    }

    [Fact]
    public void Load_ReadsTheThreeVolumes_AndComputesStatistics()
    {
        WriteFolder(_dir);
        var data = IsbiDataset.Load(_dir);
        Assert.Equal((4, 4, 64, 64), (data.TrainSlices, data.TestSlices, data.Height, data.Width));
        var images = data.TrainImages.ToArray();
        var labels = data.TrainLabels.ToArray();
        var (mean, membrane) = data.Statistics();
        Assert.Equal(images.Average(b => (double)b), mean, 10);
        Assert.Equal(labels.Count(b => b == 0) / (double)labels.Length, membrane, 10);
        Assert.InRange(membrane, 0.2, 0.3);
    }

    [Fact]
    public void MismatchedPageCounts_NameTheLabelFile()
    {
        WriteFolder(_dir, labelPages: 3);
        var ex = Assert.Throws<IsbiDataException>(() => IsbiDataset.Load(_dir));
        Assert.EndsWith("train-labels.tif", ex.FilePath);
        Assert.Contains("3 pages but train-volume.tif has 4", ex.Message);
    }

    [Fact]
    public void MismatchedSizes_NameTheLabelFile()
    {
        WriteFolder(_dir, labelSize: 32);
        var ex = Assert.Throws<IsbiDataException>(() => IsbiDataset.Load(_dir));
        Assert.Contains("32x32", ex.Message);
        Assert.Contains("train-labels.tif", ex.Message);
    }

    [Fact]
    public void NonBinaryLabels_SayWhereTheStrayValueIs()
    {
        WriteFolder(_dir, strayLabel: 128);
        var ex = Assert.Throws<IsbiDataException>(() => IsbiDataset.Load(_dir));
        Assert.Contains("must be binary", ex.Message);
        Assert.Contains("page 2 has 128 at x=3, y=0", ex.Message);
    }

    [Fact]
    public void MissingOrCorruptFiles_AreNamed()
    {
        WriteFolder(_dir);
        string labels = Path.Combine(_dir, "train-labels.tif");
        var bytes = File.ReadAllBytes(labels);
        File.WriteAllBytes(labels, bytes[..(bytes.Length / 3)]);
        var corrupt = Assert.Throws<IsbiDataException>(() => IsbiDataset.Load(_dir));
        Assert.EndsWith("train-labels.tif", corrupt.FilePath);
        Assert.IsType<TiffFormatException>(corrupt.InnerException);
        File.Delete(labels);
        Assert.Contains("file not found", Assert.Throws<IsbiDataException>(() => IsbiDataset.Load(_dir)).Message);
        Assert.Throws<DirectoryNotFoundException>(() => IsbiDataset.Load(Path.Combine(_dir, "absent")));
    }

    [Fact]
    public void SixteenBitVolumes_AreRefused()
    {
        WriteFolder(_dir);
        Tiff.Write(Path.Combine(_dir, "train-volume.tif"), new TiffVolume(4, 64, 64, new ushort[4 * 64 * 64]));
        Assert.Contains("8-bit", Assert.Throws<IsbiDataException>(() => IsbiDataset.Load(_dir)).Message);
    }

    [Fact]
    public void FileNames_CanBeOverridden_AndTheTestVolumeIsOptional()
    {
        WriteFolder(_dir);
        File.Move(Path.Combine(_dir, "train-volume.tif"), Path.Combine(_dir, "raw.tif"));
        File.Delete(Path.Combine(_dir, "test-volume.tif"));
        var data = IsbiDataset.Load(_dir, new IsbiFileNames(TrainVolume: "raw.tif"));
        Assert.Equal(0, data.TestSlices);
        Assert.True(data.TestImages.IsEmpty);
    }

    [Fact]
    public void RealIsbiFiles_HaveTheMeasuredStatistics()
    {
        string dir = Requirement.IsbiDirectory("the real ISBI 2012 files were not tested");
        var data = IsbiDataset.Load(dir);
        Assert.Equal((30, 30, 512, 512), (data.TrainSlices, data.TestSlices, data.Height, data.Width));
        var (mean, membrane) = data.Statistics();
        output.WriteLine($"train mean {mean:F4}, membrane share {membrane:P4}");
        Assert.Equal(126.16, mean, 2);
        Assert.Equal(0.2196, membrane, 4);
    }
}
