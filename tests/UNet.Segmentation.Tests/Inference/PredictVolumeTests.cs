using System.Text.RegularExpressions;
using UNet.Segmentation.Imaging;
using UNet.Segmentation.Inference;
using UNet.Segmentation.Tests.Imaging;
using UNet.Segmentation.Tests.Shared;
using TorchSharp;
using static TorchSharp.torch;
using static UNet.Segmentation.Tests.Inference.InferenceTestSupport;

namespace UNet.Segmentation.Tests.Inference;

[Collection("LiveTensors")]
public sealed class PredictVolumeTests : IDisposable
{
    private const int Pages = 3, Height = 29, Width = 41;
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private string WriteInput(string name = "test-volume.tif", int pages = Pages, int height = Height, int width = Width)
    {
        string path = _dir.File(name);
        Tiff.Write(path, TestVolumes.Make(TiffSampleFormat.UInt8, pages, height, width, seed: 11));
        return path;
    }

    [Theory]
    [InlineData(InputMode.OverlapTile)]
    [InlineData(InputMode.ReferenceResize)]
    public void PredictVolume_WritesProbabilitiesMasksAndOverlays_ThatAgree(InputMode input)
    {
        using var model = NewModel();
        using var predictor = new Predictor(model, new() { Input = input, BatchSize = 2 });
        string inputPath = WriteInput();
        var progress = new Recorder();
        var result = predictor.PredictVolume(inputPath, _dir.File("out/probabilities.tif"), _dir.File("out/masks.tif"), _dir.File("overlays"), progress);

        Assert.Equal((Pages, Height, Width), (result.PageCount, result.Height, result.Width));
        Assert.Equal([1, 2, 3], progress.Values);
        var probabilities = Tiff.Read(result.ProbabilitiesPath);
        Assert.Equal(TiffSampleFormat.Float32, probabilities.SampleFormat);
        Assert.Equal((Pages, Height, Width), (probabilities.PageCount, probabilities.Height, probabilities.Width));
        var p = probabilities.GetFloat32();
        Assert.All(p, v => Assert.InRange(v, 0f, 1f));
        Assert.True(p.Distinct().Count() > 100, "the probabilities should vary");

        var masks = Tiff.Read(result.MasksPath!);
        Assert.Equal(TiffSampleFormat.UInt8, masks.SampleFormat);
        Assert.Equal(TiffCompression.Deflate, Tiff.ReadInfo(result.MasksPath!)[0].Compression);
        var m = masks.GetUInt8();
        for (int i = 0; i < p.Length; i++) Assert.Equal(p[i] >= 0.5f ? 255 : 0, m[i]);
        Assert.Equal(m.Count(v => v == 255) / (double)m.Length, result.InteriorFraction, 12);

        var slices = Tiff.Read(inputPath);
        for (int page = 0; page < Pages; page++)
        {
            // one slice per batch rather than two: the convolutions may round differently
            var alone = predictor.PredictSlice(slices.PageUInt8(page), Height, Width);
            var written = probabilities.PageFloat32(page).ToArray();
            Assert.True(alone.Zip(written, (a, b) => Math.Abs(a - b)).Max() < 1e-5);
        }

        Assert.Equal(Pages, result.OverlayPaths.Count);
        Assert.Equal(_dir.File("overlays/test-volume-0002.png"), result.OverlayPaths[2]);
        Assert.All(result.OverlayPaths, path => Assert.Equal((byte)0x89, File.ReadAllBytes(path)[0]));
    }

    [Fact]
    public void TheProbabilityTiff_IsWhatLibtiffCallsThirtyTwoBitFloat()
    {
        ExternalTools.Require("tiffinfo");
        using var model = NewModel();
        using var predictor = new Predictor(model, PredictorOptions.Tiled);
        var result = predictor.PredictVolume(WriteInput(), _dir.File("probabilities.tif"));
        var info = ExternalTools.RunOk("tiffinfo", "-D", result.ProbabilitiesPath);
        Assert.True(info.Stderr.Trim().Length == 0, $"tiffinfo complained: {info.Stderr}");
        Assert.Equal(Pages, Regex.Matches(info.Stdout, "TIFF Directory at offset").Count);
        Assert.Equal(Pages, Regex.Matches(info.Stdout, $"Image Width: {Width} Image Length: {Height}").Count);
        Assert.Equal(Pages, Regex.Matches(info.Stdout, @"Bits/Sample: 32\b").Count);
        Assert.Equal(Pages, Regex.Matches(info.Stdout, "Sample Format: IEEE floating point").Count);
        Assert.Null(result.MasksPath);
        Assert.Empty(result.OverlayPaths);
    }

    [Fact]
    public void PredictVolume_LeaksNoTensor()
    {
        using var model = NewModel();
        using var predictor = new Predictor(model, PredictorOptions.Tiled with { FlipTta = true, BatchSize = 3 });
        string input = WriteInput(pages: 4);
        predictor.PredictVolume(input, _dir.File("warm.tif")); // first call may create lasting state
        long baseline = LiveTensors.SettledCount();
        using (var caller = NewDisposeScope())
        {
            predictor.PredictVolume(input, _dir.File("p.tif"), _dir.File("m.tif"), _dir.File("o"));
            using (var reference = new Predictor(model))
                reference.PredictVolume(input, _dir.File("p2.tif"));
            // nothing escaped into the caller's scope, and every temporary was disposed, not left to the finalizer
            Assert.Equal(0, caller.DisposablesCount);
            Assert.Equal(baseline, torch.Tensor.TotalCount);
        }
        Assert.Equal(baseline, LiveTensors.SettledCount());
    }

    [Theory]
    [InlineData(TiffSampleFormat.UInt16)]
    [InlineData(TiffSampleFormat.Float32)]
    public void NonEightBitVolumes_AreRejectedNamingTheFile(TiffSampleFormat format)
    {
        using var model = NewModel();
        using var predictor = new Predictor(model);
        string path = _dir.File($"deep-{format}.tif");
        Tiff.Write(path, TestVolumes.Make(format, 2, 16, 16));
        var e = Assert.Throws<InvalidDataException>(() => predictor.PredictVolume(path, _dir.File("p.tif")));
        Assert.Contains(path, e.Message);
        Assert.Contains("8-bit", e.Message);
        Assert.False(File.Exists(_dir.File("p.tif")));
    }

    [Fact]
    public void DamagedMissingOrClashingFiles_GiveClearErrors()
    {
        using var model = NewModel();
        using var predictor = new Predictor(model);
        string garbage = _dir.File("garbage.tif");
        File.WriteAllBytes(garbage, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
        Assert.Contains(garbage, Assert.Throws<TiffFormatException>(() => predictor.PredictVolume(garbage, _dir.File("p.tif"))).Message);
        Assert.Throws<FileNotFoundException>(() => predictor.PredictVolume(_dir.File("missing.tif"), _dir.File("p.tif")));
        string input = WriteInput();
        Assert.Equal("outputProbabilitiesTiff", Assert.Throws<ArgumentException>(() => predictor.PredictVolume(input, input)).ParamName);
        Assert.Equal("outputMasksTiff", Assert.Throws<ArgumentException>(() => predictor.PredictVolume(input, _dir.File("p.tif"), _dir.File("p.tif"))).ParamName);
        Assert.Throws<ArgumentException>(() => predictor.PredictVolume(" ", _dir.File("p.tif")));
    }

    [Fact]
    public void ModelsThatCannotSegmentSlices_AreRefused()
    {
        using var model = NewModel(SmallValid with { Classes = 1 });
        using var predictor = new Predictor(model);
        Assert.Throws<InvalidOperationException>(() => predictor.PredictVolume(WriteInput(), _dir.File("p.tif")));
        Assert.Throws<InvalidOperationException>(() => predictor.PredictSlice(new byte[4], 2, 2));
    }
}
