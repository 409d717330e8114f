using UNet.Segmentation.Imaging;

namespace UNet.Segmentation.Tests.Imaging;

/// <summary>A failed write leaves an existing file as it was and no temporary file behind.</summary>
public class AtomicWriteTests
{
    private static readonly TiffVolume Small = TestVolumes.Make(TiffSampleFormat.UInt8, 2, 4, 5);

    [Fact]
    public void RejectedArguments_LeaveTheExistingFileIntact()
    {
        using var dir = new TempDir();
        string path = dir.File("keep.tif");
        Tiff.Write(path, Small);
        var before = File.ReadAllBytes(path);

        Assert.Throws<ArgumentOutOfRangeException>(() => Tiff.Write(path, TestVolumes.Make(TiffSampleFormat.Float32, 1, 3, 3), (TiffCompression)99));
        Assert.Throws<ArgumentNullException>(() => Tiff.Write(path, null!));
        Assert.Throws<ArgumentException>(() => Png.WriteGray(path, new byte[3], 2, 2));

        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal(new[] { "keep.tif" }, dir.Entries());
    }

    [Fact]
    public void FailingRename_OntoADirectory_LeavesNoTemporaryFile()
    {
        using var dir = new TempDir();
        string target = dir.File("taken.tif");
        Directory.CreateDirectory(target);
        File.WriteAllText(Path.Combine(target, "inside.txt"), "keep me");

        var e = Record.Exception(() => Tiff.Write(target, Small, TiffCompression.Deflate));
        Assert.True(e is IOException or UnauthorizedAccessException, $"unexpected {e}");
        var e2 = Record.Exception(() => Png.WriteGray(target, new byte[4], 2, 2));
        Assert.True(e2 is IOException or UnauthorizedAccessException, $"unexpected {e2}");

        Assert.Equal(new[] { "taken.tif" }, dir.Entries());
        Assert.Equal("keep me", File.ReadAllText(Path.Combine(target, "inside.txt")));
    }

    [Fact]
    public void MissingFolder_FailsWithoutCreatingAnything()
    {
        using var dir = new TempDir();
        string path = Path.Combine(dir.Path, "missing", "a.tif");
        Assert.Throws<DirectoryNotFoundException>(() => Tiff.Write(path, Small));
        Assert.Empty(dir.Entries());
    }

    [Fact]
    public void SuccessfulOverwrite_ReplacesContent_WithoutTemporaryFiles()
    {
        using var dir = new TempDir();
        string path = dir.File("image.png");
        File.WriteAllText(path, "old");
        Png.WriteGray(path, new byte[] { 1, 2, 3, 4 }, 2, 2);
        Assert.Equal(137, File.ReadAllBytes(path)[0]);
        Assert.Equal(new[] { "image.png" }, dir.Entries());
    }
}
