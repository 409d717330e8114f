using UNet.Segmentation.Tests.Shared;
using System.Net;
using System.Text.Json;
using UNet.Segmentation.Web.Tests.Support;

namespace UNet.Segmentation.Web.Tests;

/// <summary>POST /segment on good images: the answer's mask is the library predictor's mask, whatever way and format the image comes in.</summary>
public sealed class SegmentTests : IClassFixture<SegmentTests.Service>
{
    public sealed class Service() : ServiceFactory(TestModels.Settings())
    {
    }

    private readonly HttpClient _client;

    public SegmentTests(Service service) => _client = service.CreateClient();

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AMultipartPng_IsAnsweredWithThePredictorsMask_Fractions_Timing_AndBothPictures()
    {
        var png = TestImages.GreyPng(70, 90);
        var answer = await Answers.Success(await _client.PostAsync("/segment", Answers.Multipart(png), Token));
        var expected = TestModels.PredictOnnx(png);

        Assert.Equal(90, answer.GetProperty("width").GetInt32());
        Assert.Equal(70, answer.GetProperty("height").GetInt32());
        Assert.Equal("png", answer.GetProperty("format").GetString());
        Assert.Equal(1, answer.GetProperty("channels").GetInt32());
        Assert.Equal(2, answer.GetProperty("classes").GetInt32());
        Assert.Equal("onnx", answer.GetProperty("engine").GetString());
        Assert.Equal(expected.Mask, Answers.Mask(answer));
        Assert.Equal(expected.MaskPng, answer.GetProperty("maskPng").GetBytesFromBase64());
        Assert.Equal(expected.OverlayPng, answer.GetProperty("overlayPng").GetBytesFromBase64());
        var fractions = answer.GetProperty("classFractions").EnumerateArray().Select(f => f.GetDouble()).ToArray();
        Assert.Equal(expected.ClassShares(), fractions);
        Assert.Equal(1.0, fractions.Sum(), 9);
        var timing = answer.GetProperty("timing");
        foreach (string step in new[] { "readMs", "queueMs", "decodeMs", "predictMs", "totalMs" })
            Assert.True(timing.GetProperty(step).GetDouble() >= 0, step);
        Assert.True(timing.GetProperty("totalMs").GetDouble() >= timing.GetProperty("predictMs").GetDouble());
    }

    [Theory]
    [InlineData("png", "image/png")]
    [InlineData("tiff", "application/octet-stream")]
    [InlineData("jpeg", "text/plain")] // the content type is not trusted either way: the bytes tell
    public async Task ARawBody_OfEachFormat_IsSniffedAndSegmented(string format, string contentType)
    {
        var file = format switch
        {
            "png" => TestImages.GreyPng(48, 40),
            "tiff" => TestImages.GreyTiff(48, 40),
            _ => TestImages.GreyJpeg(48, 40),
        };
        var answer = await Answers.Success(await _client.PostAsync("/segment", Answers.Raw(file, contentType), Token));
        Assert.Equal(format, answer.GetProperty("format").GetString());
        Assert.Equal(TestModels.PredictOnnx(file).Mask, Answers.Mask(answer));
    }

    [Fact]
    public async Task AOnePixelImage_IsSegmented()
    {
        var png = TestImages.GreyPng(1, 1);
        var answer = await Answers.Success(await _client.PostAsync("/segment", Answers.Multipart(png), Token));
        Assert.Equal(1, answer.GetProperty("width").GetInt32());
        Assert.Equal(1, answer.GetProperty("height").GetInt32());
        Assert.Equal(TestModels.PredictOnnx(png).Mask, Answers.Mask(answer));
    }

    [Fact]
    public async Task OtherFieldsBesideTheImage_AreSkipped()
    {
        var png = TestImages.GreyPng(20, 30);
        using var content = new MultipartFormDataContent { { new StringContent("a note"), "comment" } };
        content.Add(Answers.Raw(png, "image/png"), "image", "slice.png");
        var answer = await Answers.Success(await _client.PostAsync("/segment", content, Token));
        Assert.Equal(TestModels.PredictOnnx(png).Mask, Answers.Mask(answer));
    }

    [Fact]
    public async Task AnIsbiSlice_IsSegmentedAsThePredictorDoes()
    {
        string? folder = TestImages.IsbiFolder();
        if (folder is null) Requirement.Skip("ISBI2012_DIR is not set: the real ISBI 2012 slice was not sent (a synthetic 512x512 slice was)");
        var png = TestImages.IsbiSlicePng(folder, 0);
        var answer = await Answers.Success(await _client.PostAsync("/segment", Answers.Multipart(png), Token));
        Assert.Equal(512, answer.GetProperty("width").GetInt32());
        Assert.Equal(TestModels.PredictOnnx(png).Mask, Answers.Mask(answer));
    }

    [Fact]
    public async Task ASynthetic512Slice_IsSegmentedAsThePredictorDoes()
    {
        var png = TestImages.GreyPng(512, 512, seed: 5);
        var answer = await Answers.Success(await _client.PostAsync("/segment", Answers.Raw(png), Token));
        var mask = Answers.Mask(answer);
        Assert.Equal(TestModels.PredictOnnx(png).Mask, mask);
        Assert.True(mask.Distinct().Count() > 1, "a mask of one class would not show that the right pixels are compared");
    }
}
