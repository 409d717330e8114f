using UNet.Segmentation.Inference;
using UNet.Segmentation.Inference.Streaming;
using UNet.Segmentation.Tests.Imaging;
using static UNet.Segmentation.Tests.Inference.Streaming.StreamingTestSupport;

namespace UNet.Segmentation.Tests.Inference.Streaming;

/// <summary>A prediction stopped part-way and started again gives the bytes of an unbroken run; nothing half-written appears under a final name.</summary>
public sealed class ResumeTests : IDisposable
{
    private const int Pages = 7;
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private (string Volume, IDisposable Predictor, byte[] P, byte[] M) Setup(InputMode input = InputMode.OverlapTile)
    {
        string volume = WriteVolume(_dir.File("volume.tif"), Pages, 40, 48);
        var predictor = NewPredictor("torch", input, _dir.Path, batch: 3);
        var (p, m) = InMemory(predictor, volume, _dir.Path);
        return (volume, predictor, p, m);
    }

    /// <summary>Runs the prediction, cancelling once <paramref name="cancelAfter"/> pages are written (never when null).</summary>
    private StreamPredictionResult? Run(IDisposable predictor, string volume, VolumeSink sink, int? cancelAfter)
    {
        using var cancel = new CancellationTokenSource();
        var progress = new SynchronousProgress<VolumeProgress>(p =>
        {
            if (p.PagesDone >= cancelAfter) cancel.Cancel();
        });
        using var source = VolumeSource.Open(volume);
        try
        {
            return Stream(predictor, source, sink, progress, cancel.Token);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
        finally
        {
            sink.Dispose();
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(5)]
    public void AStackCancelledAfterKPages_ResumesToTheBytesOfAnUnbrokenRun(int k)
    {
        var (volume, predictor, p, m) = Setup();
        using var _ = predictor;
        string pPath = _dir.File("out/p.tif"), mPath = _dir.File("out/m.tif");
        Assert.Null(Run(predictor, volume, new TiffStackSink(pPath, mPath), cancelAfter: k));
        Assert.False(File.Exists(pPath));
        Assert.False(File.Exists(mPath));
        Assert.True(File.Exists(pPath + ".partial") && File.Exists(pPath + ".progress"));

        var result = Run(predictor, volume, new TiffStackSink(pPath, mPath), cancelAfter: null)!;
        // At least k: the pages already predicted when the token is cancelled are still written, and
        // how many that is depends on timing (all of them on a busy machine); the bytes must match either way.
        Assert.InRange(result.PagesResumed, k, Pages);
        Assert.Equal(p, File.ReadAllBytes(pPath));
        Assert.Equal(m, File.ReadAllBytes(mPath));
        Assert.Equal(["m.tif", "p.tif"], Directory.GetFiles(_dir.File("out")).Select(Path.GetFileName).Order());
    }

    [Fact]
    public void APartialFileCutShortOrDamaged_IsVerifiedAndTheBadPagesRedone()
    {
        var (volume, predictor, p, m) = Setup(InputMode.ReferenceResize);
        using var _ = predictor;
        string pPath = _dir.File("p.tif"), mPath = _dir.File("m.tif");
        Run(predictor, volume, new TiffStackSink(pPath, mPath), cancelAfter: 5);
        // a kill in the middle of a page: the last page's bytes are cut off
        var partial = File.ReadAllBytes(pPath + ".partial");
        partial = partial[..(partial.Length - 3000)];
        // and a flipped bit inside page 2 (40x48 float32 pages: page 1 and its directory take the first ~7.9 kB)
        partial[9000] ^= 0x10;
        File.WriteAllBytes(pPath + ".partial", partial);

        var result = Run(predictor, volume, new TiffStackSink(pPath, mPath), cancelAfter: null)!;
        Assert.Equal(1, result.PagesResumed); // page 1 verified and kept, page 2 failed its hash: redone from there
        Assert.Equal(p, File.ReadAllBytes(pPath));
        Assert.Equal(m, File.ReadAllBytes(mPath));
    }

    [Theory]
    [InlineData("torch")]
    [InlineData("onnx")]
    public void AnotherModelOfTheSameShape_DoesNotResumeTheOutput(string engine)
    {
        string volume = WriteVolume(_dir.File("volume.tif"), Pages, 40, 48);
        string pPath = _dir.File("p.tif");
        using (var first = NewPredictor(engine, InputMode.OverlapTile, _dir.Path, batch: 3))
            Run(first, volume, new TiffStackSink(pPath), cancelAfter: 2);
        // the same again resumes; other weights (seed 8) of the same shape are refused, the pages kept
        using (var same = NewPredictor(engine, InputMode.OverlapTile, _dir.Path, batch: 3))
            Assert.Null(Run(same, volume, new TiffStackSink(pPath), cancelAfter: 3));
        long before = new FileInfo(pPath + ".partial").Length;
        using var other = NewPredictor(engine, InputMode.OverlapTile, _dir.Path, batch: 3, seed: 8);
        var e = Assert.Throws<VolumeOutputException>(() => Run(other, volume, new TiffStackSink(pPath), cancelAfter: null));
        Assert.Contains("an unfinished prediction of something else", e.Message);
        Assert.Contains("weights ", e.Message);
        Assert.Equal(before, new FileInfo(pPath + ".partial").Length);
    }

    [Fact]
    public void AnotherPrediction_DoesNotResumeSomeoneElsesOutput()
    {
        var (volume, predictor, _, _) = Setup(InputMode.ReferenceResize);
        using var __ = predictor;
        string pPath = _dir.File("p.tif");
        Run(predictor, volume, new TiffStackSink(pPath), cancelAfter: 2);
        using var other = NewPredictor("torch", InputMode.OverlapTile, _dir.Path, batch: 3);
        long before = new FileInfo(pPath + ".partial").Length;
        var e = Assert.Throws<VolumeOutputException>(() => Run(other, volume, new TiffStackSink(pPath), cancelAfter: null));
        Assert.Contains(pPath + ".progress", e.Message);
        Assert.Equal(before, new FileInfo(pPath + ".partial").Length);
    }

    [Fact]
    public void APageFolderCancelledPartWay_ResumesWithTheSameFiles()
    {
        var (volume, predictor, _, _) = Setup();
        using var _ = predictor;
        Run(predictor, volume, new PageFolderSink(_dir.File("whole")), cancelAfter: null);
        Run(predictor, volume, new StopAfterSink(new PageFolderSink(_dir.File("broken")), 4), cancelAfter: null);
        int before = Directory.GetFiles(_dir.File("broken"), "*-mask.tif").Length;
        Assert.Equal(4, before);
        Assert.Empty(Directory.GetFiles(_dir.File("broken"), "*.tmp"));
        var result = Run(predictor, volume, new PageFolderSink(_dir.File("broken")), cancelAfter: null)!;
        Assert.Equal(before, result.PagesResumed);
        foreach (string file in Directory.GetFiles(_dir.File("whole"), "*.tif"))
            Assert.Equal(File.ReadAllBytes(file), File.ReadAllBytes(_dir.File("broken/" + Path.GetFileName(file))));
        Assert.Equal(2 * Pages, Directory.GetFiles(_dir.File("broken"), "*.tif").Length);
    }
}
