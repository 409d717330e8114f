using UNet.Segmentation.Tests.Shared;
using UNet.Segmentation.Imaging;
using UNet.Segmentation.Inference;
using UNet.Segmentation.Inference.Streaming;
using UNet.Segmentation.Model;
using UNet.Segmentation.Tests.Imaging;
using static UNet.Segmentation.Tests.Inference.Streaming.StreamingTestSupport;

namespace UNet.Segmentation.Tests.Inference.Streaming;

/// <summary>PredictStream against the in-memory prediction it replaces: the same bytes, a bounded number of pages in memory.</summary>
public sealed class StreamingPredictionTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    public static TheoryData<string, InputMode> Engines() => new()
    {
        { "torch", InputMode.ReferenceResize }, { "torch", InputMode.OverlapTile },
        { "onnx", InputMode.ReferenceResize }, { "onnx", InputMode.OverlapTile },
    };

    [Theory]
    [MemberData(nameof(Engines))]
    public void StreamingOutput_EqualsTheInMemoryOutput_BitForBit(string engine, InputMode input)
    {
        // 5 pages in batches of 2 (the last batch short); 70x90 pages are larger than the 60² input, so tiling takes several tiles.
        string volume = WriteVolume(_dir.File("volume.tif"), pages: 5, height: 70, width: 90);
        using var predictor = NewPredictor(engine, input, _dir.Path);
        var expected = InMemory(predictor, volume, _dir.Path);

        using (var source = VolumeSource.Open(volume))
        using (var sink = new TiffStackSink(_dir.File("out/p.tif"), _dir.File("out/m.tif")))
        {
            var result = Stream(predictor, source, sink, token: TestContext.Current.CancellationToken);
            Assert.Equal((5, 0, 70, 90), (result.PageCount, result.PagesResumed, result.Height, result.Width));
        }
        Assert.Equal(expected.Probabilities, File.ReadAllBytes(_dir.File("out/p.tif")));
        Assert.Equal(expected.Masks, File.ReadAllBytes(_dir.File("out/m.tif")));
        Assert.Equal(["m.tif", "p.tif"], Directory.GetFiles(_dir.File("out")).Select(Path.GetFileName).Order());

        // PredictVolume, now a layer over the stream, writes the same bytes.
        if (predictor is Predictor t) t.PredictVolume(volume, _dir.File("v/p.tif"), _dir.File("v/m.tif"));
        else ((UNet.Segmentation.Onnx.OnnxPredictor)predictor).PredictVolume(volume, _dir.File("v/p.tif"), _dir.File("v/m.tif"));
        Assert.Equal(expected.Probabilities, File.ReadAllBytes(_dir.File("v/p.tif")));
        Assert.Equal(expected.Masks, File.ReadAllBytes(_dir.File("v/m.tif")));
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public void TheRealIsbiTestVolume_StreamsToTheInMemoryBytes(string engine, InputMode input)
    {
        string dir = Requirement.IsbiDirectory("the real ISBI 2012 test volume was not streamed");
        string volume = Path.Combine(dir, "test-volume.tif");
        // 'same' padding with 128² tiles keeps the tiled pass over 30 pages of 512² short on a CPU.
        var shape = UNetOptions.Reference with { BaseFilters = 4, Depth = 2, Padding = ConvPadding.Same, InputSize = 128 };
        using var predictor = NewPredictor(engine, input, _dir.Path, batch: 4, shape: shape);
        var expected = InMemory(predictor, volume, _dir.Path);
        using (var source = VolumeSource.Open(volume))
        using (var sink = new TiffStackSink(_dir.File("p.tif"), _dir.File("m.tif")))
            Assert.Equal(30, Stream(predictor, source, sink, token: TestContext.Current.CancellationToken).PageCount);
        Assert.Equal(expected.Probabilities, File.ReadAllBytes(_dir.File("p.tif")));
        Assert.Equal(expected.Masks, File.ReadAllBytes(_dir.File("m.tif")));
    }

    [Fact]
    public void PagesInMemory_StayBoundedByTheQueues_NotByTheVolume()
    {
        const int Pages = 24, Batch = 2;
        string volume = WriteVolume(_dir.File("long.tif"), Pages, 20, 24);
        using var predictor = NewPredictor("torch", InputMode.ReferenceResize, _dir.Path, Batch);
        using var source = new CountingSource(VolumeSource.Open(volume));
        using var sink = new CountingSink(new TiffStackSink(_dir.File("p.tif")), source, delayMs: 20);
        var reports = new List<VolumeProgress>();
        Stream(predictor, source, sink, new SynchronousProgress<VolumeProgress>(reports.Add), TestContext.Current.CancellationToken);

        Assert.Equal(Pages, sink.Written);
        // One batch being read, one queued, one predicted, one queued, one being written.
        Assert.InRange(sink.MaxAlive, 1, 5 * Batch);
        Assert.Equal(Enumerable.Range(0, Pages + 1), reports.Select(r => r.PagesDone));
        Assert.All(reports, r => Assert.Equal(Pages, r.PageCount));
        Assert.True(reports[^1].PagesPerSecond > 0);
        Assert.Equal(TimeSpan.Zero, reports[^1].Remaining);
    }

    [Fact]
    public void BigTiff_IsWrittenWhenAsked_WithTheSamePages()
    {
        string volume = WriteVolume(_dir.File("volume.tif"), 3, 30, 40);
        using var predictor = NewPredictor("torch", InputMode.ReferenceResize, _dir.Path);
        using (var source = VolumeSource.Open(volume))
        using (var sink = new TiffStackSink(_dir.File("classic-p.tif"), _dir.File("classic-m.tif")))
        {
            Stream(predictor, source, sink, token: TestContext.Current.CancellationToken);
            Assert.Equal((false, false), sink.IsBigTiff);
        }
        using (var source = VolumeSource.Open(volume))
        using (var sink = new TiffStackSink(_dir.File("big-p.tif"), _dir.File("big-m.tif"), BigTiffMode.Always))
        {
            Stream(predictor, source, sink, token: TestContext.Current.CancellationToken);
            Assert.Equal((true, true), sink.IsBigTiff);
        }
        var header = File.ReadAllBytes(_dir.File("big-p.tif"))[..4];
        Assert.Equal(new byte[] { (byte)'I', (byte)'I', 43, 0 }, header);
        using var classic = TiffPageReader.Open(_dir.File("classic-p.tif"));
        using var big = TiffPageReader.Open(_dir.File("big-p.tif"));
        using var bigMasks = new TiffStackSource(_dir.File("big-m.tif"));
        var classicMasks = Tiff.Read(_dir.File("classic-m.tif"));
        Assert.Equal(3, big.PageCount);
        for (int p = 0; p < 3; p++)
        {
            Assert.Equal(classic.ReadRaw(p, 32, 3, out _, out _), big.ReadRaw(p, 32, 3, out _, out _));
            Assert.Equal(classicMasks.PageUInt8(p).ToArray(), bigMasks.ReadPage(p).Pixels);
        }
    }

    [Fact]
    public void AFolderOfImages_IsReadInNaturalOrder_AndWrittenOnePairOfFilesPerPage()
    {
        string volume = WriteVolume(_dir.File("volume.tif"), 3, 30, 40);
        var stack = Tiff.Read(volume);
        Directory.CreateDirectory(_dir.File("in"));
        string[] names = ["s2", "s10", "s1"]; // natural order: s1, s2, s10 = pages 0, 1, 2
        int[] pageOf = [1, 2, 0];
        for (int i = 0; i < 3; i++)
            Png.WriteGray(_dir.File($"in/{names[i]}.png"), stack.PageUInt8(pageOf[i]).ToArray(), 40, 30);
        File.WriteAllText(_dir.File("in/notes.txt"), "not an image");
        using var predictor = NewPredictor("torch", InputMode.ReferenceResize, _dir.Path);
        var expected = InMemory(predictor, volume, _dir.Path);

        using (var source = VolumeSource.Open(_dir.File("in")))
        using (var sink = new PageFolderSink(_dir.File("out")))
        {
            Assert.Equal(["s1", "s2", "s10"], source.PageNames);
            Stream(predictor, source, sink, token: TestContext.Current.CancellationToken);
        }
        var probabilities = Tiff.Read(_dir.File("reference-p.tif"));
        var masks = Tiff.Read(_dir.File("reference-m.tif"));
        string[] ordered = ["s1", "s2", "s10"];
        for (int p = 0; p < 3; p++)
        {
            Assert.Equal(probabilities.PageFloat32(p).ToArray(), Tiff.Read(_dir.File($"out/{ordered[p]}-probabilities.tif")).GetFloat32());
            Assert.Equal(masks.PageUInt8(p).ToArray(), Tiff.Read(_dir.File($"out/{ordered[p]}-mask.tif")).GetUInt8());
        }
        Assert.NotEmpty(expected.Probabilities);
    }

    [Fact]
    public void NaturalOrder_ComparesDigitRunsByValue()
    {
        string[] names = ["b.tif", "a10.tif", "a2.tif", "A1.tif", "a02.tif", "a1b.tif"];
        Assert.Equal(["A1.tif", "a1b.tif", "a02.tif", "a2.tif", "a10.tif", "b.tif"], names.Order(NaturalOrder.Instance));
    }
}

/// <summary>An IProgress that calls back at once on the reporting thread (Progress&lt;T&gt; posts to the thread pool).</summary>
internal sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
