using BitMiracle.LibTiff.Classic;
using UNet.Segmentation.Imaging;
using UNet.Segmentation.Inference;
using UNet.Segmentation.Inference.Streaming;
using UNet.Segmentation.Tests.Imaging;
using static UNet.Segmentation.Tests.Inference.Streaming.StreamingTestSupport;
using LibTiff = BitMiracle.LibTiff.Classic.Tiff;

namespace UNet.Segmentation.Tests.Inference.Streaming;

/// <summary>Bad pages and failing outputs: one typed exception naming the file and the page, and the pages before it kept.</summary>
public sealed class BadVolumeInputTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>A stack whose pages have the given sizes and depths, written straight through LibTiff.NET.</summary>
    private string WriteMixedStack(string name, params (int Height, int Width, int Bits)[] pages)
    {
        string path = _dir.File(name);
        using var tiff = LibTiff.Open(path, "w");
        var random = new Random(3);
        foreach (var (h, w, bits) in pages)
        {
            tiff.SetField(TiffTag.IMAGEWIDTH, w);
            tiff.SetField(TiffTag.IMAGELENGTH, h);
            tiff.SetField(TiffTag.BITSPERSAMPLE, bits);
            tiff.SetField(TiffTag.SAMPLESPERPIXEL, 1);
            tiff.SetField(TiffTag.PHOTOMETRIC, Photometric.MINISBLACK);
            tiff.SetField(TiffTag.ROWSPERSTRIP, h);
            var data = new byte[h * w * bits / 8];
            random.NextBytes(data);
            tiff.WriteEncodedStrip(0, data, data.Length);
            tiff.WriteDirectory();
        }
        return path;
    }

    private StreamPredictionResult Run(string input, VolumeSink sink, int batch = 1)
    {
        using var predictor = NewPredictor("torch", InputMode.ReferenceResize, _dir.Path, batch);
        using var source = VolumeSource.Open(input);
        using (sink) return Stream(predictor, source, sink);
    }

    private static void AssertOneLine(Exception e) => Assert.DoesNotContain('\n', e.Message);

    [Fact]
    public void APageOfAnotherSizeMidStack_NamesTheFileAndPage_AndKeepsThePagesBefore()
    {
        string input = WriteMixedStack("mixed.tif", (30, 40, 8), (30, 40, 8), (31, 40, 8), (30, 40, 8));
        var e = Assert.Throws<VolumePageException>(() => Run(input, new PageFolderSink(_dir.File("out"))));
        Assert.Equal((input, 3), (e.FilePath, e.Page));
        Assert.Contains("40x31", e.Message);
        AssertOneLine(e);
        Assert.True(File.Exists(_dir.File("out/page-00002-mask.tif")));
        Assert.False(File.Exists(_dir.File("out/page-00003-mask.tif")));
    }

    [Fact]
    public void APageOfAnotherDepthMidStack_NamesTheFileAndPage_AndTheStackKeepsItsPagesForResuming()
    {
        string input = WriteMixedStack("deep.tif", (30, 40, 8), (30, 40, 8), (30, 40, 16));
        string output = _dir.File("p.tif");
        var e = Assert.Throws<VolumePageException>(() => Run(input, new TiffStackSink(output)));
        Assert.Equal((input, 3), (e.FilePath, e.Page));
        Assert.Contains("8-bit", e.Message);
        AssertOneLine(e);
        Assert.False(File.Exists(output));
        Assert.Equal(4, File.ReadAllLines(output + ".progress").Length); // header, signature, pages 0 and 1
    }

    [Fact]
    public void ATruncatedStack_NamesTheFileAndPage()
    {
        string input = WriteVolume(_dir.File("whole.tif"), 4, 30, 40);
        var bytes = File.ReadAllBytes(input);
        string cut = _dir.File("cut.tif");
        File.WriteAllBytes(cut, bytes[..(bytes.Length * 5 / 8)]);
        var e = Assert.Throws<TiffFormatException>(() => Run(cut, new TiffStackSink(_dir.File("p.tif"))));
        Assert.Equal((cut, 3), (e.FilePath, e.Page));
        Assert.Contains("truncated", e.Message);
        AssertOneLine(e);
        Assert.False(File.Exists(_dir.File("p.tif")));
    }

    [Fact]
    public void AnUnreadableFileInAFolder_NamesItAndItsPage_AndKeepsThePagesBefore()
    {
        Directory.CreateDirectory(_dir.File("in"));
        var pixels = new byte[30 * 40];
        new Random(2).NextBytes(pixels);
        Png.WriteGray(_dir.File("in/a1.png"), pixels, 40, 30);
        File.WriteAllBytes(_dir.File("in/a2.png"), [0x89, 0x50, 0x4E, 0x47, 1, 2, 3]);
        Png.WriteGray(_dir.File("in/a3.png"), pixels, 40, 30);
        var e = Assert.Throws<VolumePageException>(() => Run(_dir.File("in"), new PageFolderSink(_dir.File("out"))));
        Assert.Equal((_dir.File("in/a2.png"), 2), (e.FilePath, e.Page));
        AssertOneLine(e);
        Assert.True(File.Exists(_dir.File("out/a1-probabilities.tif")));
        Assert.False(File.Exists(_dir.File("out/a3-probabilities.tif")));
    }

    [Fact]
    public void AColourOrSixteenBitImageInAFolder_IsRefusedNamingIt()
    {
        Directory.CreateDirectory(_dir.File("in"));
        Png.WriteGray(_dir.File("in/a1.png"), new byte[30 * 40], 40, 30);
        Png.WriteRgb(_dir.File("in/a2.png"), new byte[30 * 40 * 3], 40, 30);
        var e = Assert.Throws<VolumePageException>(() => Run(_dir.File("in"), new PageFolderSink(_dir.File("out"))));
        Assert.Equal((_dir.File("in/a2.png"), 2), (e.FilePath, e.Page));
        Assert.Contains("8-bit greyscale", e.Message);
    }

    [Fact]
    public void AFullDisk_NamesTheFileAndPage_AndTheNextRunFinishesWithTheSameBytes()
    {
        string input = WriteVolume(_dir.File("volume.tif"), 5, 30, 40);
        var unbroken = Run(input, new TiffStackSink(_dir.File("whole-p.tif"), _dir.File("whole-m.tif")));
        string p = _dir.File("p.tif"), m = _dir.File("m.tif");
        // room for the header and about two and a half pages of float32 probabilities
        var full = new TiffStackSink(p, m) { OpenStream = path => new FullDiskStream(path, path.StartsWith(p, StringComparison.Ordinal) ? 12_000 : long.MaxValue) };
        var e = Assert.Throws<VolumeOutputException>(() => Run(input, full));
        Assert.Equal(p + ".partial", e.FilePath);
        Assert.Equal(3, e.Page);
        Assert.True(e.Message.Contains("No space left", StringComparison.Ordinal), e.Message);
        AssertOneLine(e);
        Assert.False(File.Exists(p));

        var resumed = Run(input, new TiffStackSink(p, m));
        Assert.Equal(2, resumed.PagesResumed);
        Assert.Equal(File.ReadAllBytes(_dir.File("whole-p.tif")), File.ReadAllBytes(p));
        Assert.Equal(File.ReadAllBytes(_dir.File("whole-m.tif")), File.ReadAllBytes(m));
        Assert.Equal(5, unbroken.PageCount);
    }

    [Fact]
    public void AnOutputInsideTheInputFolder_OrOverTheInputFile_IsRefusedBeforeAnythingIsWritten()
    {
        Directory.CreateDirectory(_dir.File("in"));
        Png.WriteGray(_dir.File("in/a1.png"), new byte[30 * 40], 40, 30);
        var e = Assert.Throws<ArgumentException>(() => Run(_dir.File("in"), new PageFolderSink(_dir.File("in/out"))));
        Assert.Contains(_dir.File("in"), e.Message);
        Assert.False(Directory.Exists(_dir.File("in/out")));
        Assert.Throws<ArgumentException>(() => Run(_dir.File("in"), new TiffStackSink(_dir.File("in/p.tif"))));
        Assert.Equal(["a1.png"], Directory.GetFileSystemEntries(_dir.File("in")).Select(Path.GetFileName));

        string stack = WriteVolume(_dir.File("stack.tif"), 2, 30, 40);
        var before = File.ReadAllBytes(stack);
        Assert.Contains("is the input", Assert.Throws<ArgumentException>(() => Run(stack, new TiffStackSink(_dir.File("p.tif"), stack))).Message);
        Assert.Equal(before, File.ReadAllBytes(stack));
        Assert.False(File.Exists(stack + ".partial"));
    }

    /// <summary>A file stream that fails like a full disk once <paramref name="room"/> bytes are written.</summary>
    private sealed class FullDiskStream(string path, long room) : FileStream(path, FileMode.Create, FileAccess.ReadWrite, FileShare.Read)
    {
        public override void Write(byte[] buffer, int offset, int count)
        {
            if (Position + count > room) throw new IOException("No space left on device");
            base.Write(buffer, offset, count);
        }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (Position + buffer.Length > room) throw new IOException("No space left on device");
            base.Write(buffer);
        }
    }
}
