using UNet.Segmentation.Imaging;
using UNet.Segmentation.Inference;
using UNet.Segmentation.Tests.Shared;
using static UNet.Segmentation.Tests.Inference.InferenceTestSupport;

namespace UNet.Segmentation.Tests.Inference;

/// <summary><c>PredictImage</c>: images held in memory, as pixels or encoded, in; mask, probabilities and PNG bytes out.</summary>
[Collection("LiveTensors")]
public sealed class PredictImageTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("predict-image-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static byte[] RandomBytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    [Fact]
    public void RgbPixels_ThreeClasses_GiveTheArgmaxMaskAndTheProbabilities()
    {
        using var model = NewModel(SmallValid with { InputChannels = 3, Classes = 3 });
        using var predictor = new Predictor(model, PredictorOptions.Tiled);
        var rgb = RandomBytes(37 * 53 * 3, 2);
        var result = predictor.PredictImage(rgb, 37, 53, 3);
        Assert.Equal((37, 53, 3), (result.Height, result.Width, result.Classes));
        Assert.Equal(37 * 53, result.Mask.Length);
        Assert.Equal(3 * 37 * 53, result.Probabilities.Length);
        Assert.Null(result.MaskPng);
        // The probabilities are the array pipeline's on the scaled pixels (channels first).
        var planar = new float[rgb.Length];
        for (int p = 0; p < 37 * 53; p++)
            for (int c = 0; c < 3; c++) planar[c * 37 * 53 + p] = rgb[p * 3 + c] / 127.5f - 1f;
        var expected = predictor.PredictProbabilities(new FloatImages(planar, 1, 3, 37, 53));
        Assert.Equal(expected.Data, result.Probabilities);
        for (int p = 0; p < result.Mask.Length; p++)
        {
            int best = 0;
            for (int k = 1; k < 3; k++) if (result.ClassProbabilities(k)[p] > result.ClassProbabilities(best)[p]) best = k;
            Assert.Equal(best, result.Mask[p]);
        }
        Assert.Equal(1.0, result.ClassShares().Sum(), 9);
    }

    [Fact]
    public void EncodedPngStreamAndBytes_EqualTheDecodedPixels_AndThePicturesDecodeToTheMask()
    {
        using var model = NewModel();
        using var predictor = new Predictor(model, PredictorOptions.Tiled);
        var grey = RandomBytes(41 * 29, 3);
        var png = Png.EncodeGray(grey, 29, 41);
        var fromPixels = predictor.PredictImage(grey, 41, 29, 1);
        var fromBytes = predictor.PredictImage(png, pictures: true);
        using var stream = new MemoryStream(png);
        var fromStream = predictor.PredictImage(stream);
        var fromDecoded = predictor.PredictImage(ImageFiles.Read(new MemoryStream(png), "png"));
        Assert.Equal(fromPixels.Probabilities, fromBytes.Probabilities);
        Assert.Equal(fromPixels.Probabilities, fromStream.Probabilities);
        Assert.Equal(fromPixels.Mask, fromDecoded.Mask);
        var mask = ImageFiles.Read(new MemoryStream(fromBytes.MaskPng!), "mask");
        Assert.Equal(fromBytes.Mask, mask.Samples.Select(s => (byte)s).ToArray());
        var overlay = ImageFiles.Read(new MemoryStream(fromBytes.OverlayPng!), "overlay");
        Assert.Equal((3, 29, 41), (overlay.Channels, overlay.Width, overlay.Height));
    }

    [Fact]
    public void PredictImageFile_WritesWhatPredictImageGives()
    {
        using var model = NewModel(SmallValid with { InputChannels = 3, Classes = 3 });
        using var predictor = new Predictor(model, PredictorOptions.Tiled);
        var rgb = RandomBytes(20 * 25 * 3, 4);
        string path = Path.Combine(_dir, "cells.png");
        Png.WriteRgb(path, rgb, 25, 20);
        var inMemory = predictor.PredictImage(rgb, 20, 25, 3, pictures: true);
        var written = predictor.PredictImageFile(path, _dir);
        Assert.Equal(inMemory.MaskPng, File.ReadAllBytes(written.MaskPath));
        Assert.Equal(inMemory.OverlayPng, File.ReadAllBytes(written.OverlayPath));
        Assert.Equal(inMemory.Probabilities, Tiff.Read(written.ProbabilitiesPath).GetFloat32());
        Assert.Equal(inMemory.ClassShares(), written.ClassShares);
    }

    [Fact]
    public void BadInput_GivesTypedErrorsNamingTheArgument_AndLeaksNoTensors()
    {
        using var model = NewModel();
        using var predictor = new Predictor(model, PredictorOptions.Tiled);
        LiveTensors.Settle();
        long before = LiveTensors.SettledCount();
        var png = Png.EncodeGray(RandomBytes(30 * 30, 5), 30, 30);
        Assert.Contains("empty", Assert.Throws<ImageFormatException>(() => predictor.PredictImage(new MemoryStream())).Message);
        Assert.Equal("the image stream", Assert.Throws<ImageFormatException>(() => predictor.PredictImage(new MemoryStream())).FilePath);
        Assert.Equal("the image bytes", Assert.ThrowsAny<ImageFormatException>(() => predictor.PredictImage(png.AsMemory(0, png.Length / 2))).FilePath);
        Assert.Contains("not a PNG, JPEG or TIFF", Assert.Throws<ImageFormatException>(() => predictor.PredictImage("just some text\n"u8.ToArray().AsMemory())).Message);
        var rgbPng = Png.EncodeRgb(RandomBytes(30 * 30 * 3, 6), 30, 30);
        var channels = Assert.Throws<ArgumentException>(() => predictor.PredictImage(rgbPng.AsMemory()));
        Assert.Equal("encoded", channels.ParamName);
        Assert.Contains("3 channel(s); the model takes 1", channels.Message);
        Assert.Equal("pixels", Assert.Throws<ArgumentException>(() => predictor.PredictImage(new byte[30 * 30 * 3], 30, 30, 3)).ParamName);
        Assert.Equal("pixels", Assert.Throws<ArgumentException>(() => predictor.PredictImage(new byte[10], 30, 30, 1)).ParamName);
        Assert.Equal("channels", Assert.Throws<ArgumentOutOfRangeException>(() => predictor.PredictImage(new byte[30 * 30 * 2], 30, 30, 2)).ParamName);
        Assert.Equal(before, LiveTensors.SettledCount());
    }
}
