using System.Net;
using System.Text;
using UNet.Segmentation.Web.Tests.Support;

namespace UNet.Segmentation.Web.Tests;

/// <summary>Every bad request answers 4xx problem details naming what was wrong; never a 500, never a stack trace.</summary>
public sealed class BadInputTests : IClassFixture<BadInputTests.Service>
{
    public sealed class Service() : ServiceFactory(TestModels.Settings(("MaxPixels", "1000000")))
    {
    }

    private readonly HttpClient _client;

    public BadInputTests(Service service) => _client = service.CreateClient();

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AnEmptyRawBody_Is400EmptyBody()
    {
        var response = await _client.PostAsync("/segment", Answers.Raw([]), Token);
        await Answers.Problem(response, HttpStatusCode.BadRequest, "empty-body", "the request body is empty", "'image'");
    }

    [Fact]
    public async Task AnEmptyImagePart_Is400EmptyBody()
    {
        var response = await _client.PostAsync("/segment", Answers.Multipart([], fileName: "empty.png"), Token);
        await Answers.Problem(response, HttpStatusCode.BadRequest, "empty-body", "'image' part ('empty.png') is empty");
    }

    [Fact]
    public async Task A20000By20000PngHeader_IsRefusedBeforeDecoding_413TooManyPixels()
    {
        var response = await _client.PostAsync("/segment", Answers.Multipart(TestImages.PngHeaderOnly(20_000, 20_000), fileName: "huge.png"), Token);
        await Answers.Problem(response, HttpStatusCode.RequestEntityTooLarge, "too-many-pixels", "20000x20000", "400000000 pixels", "1000000", "huge.png");
    }

    [Fact]
    public async Task AnImageJustOverThePixelLimit_IsRefused_AndOneAtTheLimitIsNot()
    {
        var over = await _client.PostAsync("/segment", Answers.Raw(TestImages.GreyPng(1001, 1000)), Token);
        await Answers.Problem(over, HttpStatusCode.RequestEntityTooLarge, "too-many-pixels", "1000x1001");
        var at = await _client.PostAsync("/segment", Answers.Raw(TestImages.PngHeaderOnly(1000, 1000)), Token);
        await Answers.Problem(at, HttpStatusCode.BadRequest, "undecodable-image"); // past the pixel limit: only the missing image data is wrong
    }

    [Fact]
    public async Task ATruncatedPng_Is400Undecodable_NamingTheUpload()
    {
        var png = TestImages.GreyPng(64, 64);
        var cut = png[..(png.Length / 2)];
        var response = await _client.PostAsync("/segment", Answers.Multipart(cut, fileName: "cut.png"), Token);
        await Answers.Problem(response, HttpStatusCode.BadRequest, "undecodable-image", "'image' part ('cut.png')");
    }

    [Fact]
    public async Task APngCutInsideItsHeader_Is400BadHeader()
    {
        var png = TestImages.GreyPng(64, 64);
        var response = await _client.PostAsync("/segment", Answers.Raw(png[..20]), Token);
        await Answers.Problem(response, HttpStatusCode.BadRequest, "bad-image-header", "cut short", "20 bytes");
    }

    [Fact]
    public async Task ATextFileNamedPng_WithAnImageContentType_Is415NotAnImage()
    {
        var text = Encoding.UTF8.GetBytes("hello, I am text pretending to be a picture\n");
        var response = await _client.PostAsync("/segment", Answers.Multipart(text, fileName: "notes.png", contentType: "image/png"), Token);
        await Answers.Problem(response, HttpStatusCode.UnsupportedMediaType, "not-an-image", "'notes.png'", "68 65 6C 6C 6F", "not its name or content type");
    }

    [Fact]
    public async Task TheWrongMultipartField_Is400_NamingTheFieldsFound()
    {
        var response = await _client.PostAsync("/segment", Answers.Multipart(TestImages.GreyPng(8, 8), field: "file"), Token);
        await Answers.Problem(response, HttpStatusCode.BadRequest, "bad-multipart", "no part named 'image'", "'file'");
    }

    [Fact]
    public async Task AMultipartContentTypeWithoutBoundary_Is400()
    {
        var content = Answers.Raw(TestImages.GreyPng(8, 8), "multipart/form-data");
        var response = await _client.PostAsync("/segment", content, Token);
        await Answers.Problem(response, HttpStatusCode.BadRequest, "bad-multipart", "boundary");
    }

    [Fact]
    public async Task AMultipartBodyCutShort_Is400()
    {
        var body = "--b\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n\r\n\x89PNG"u8.ToArray();
        var response = await _client.PostAsync("/segment", Answers.Raw(body, "multipart/form-data; boundary=b"), Token);
        await Answers.Problem(response, HttpStatusCode.BadRequest, "bad-multipart", "'image' part ('a.png') is malformed");
    }

    [Fact]
    public async Task AnRgbImage_ForAGreyModel_Is422WrongChannels()
    {
        var response = await _client.PostAsync("/segment", Answers.Multipart(TestImages.RgbPng(16, 16), fileName: "colour.png"), Token);
        await Answers.Problem(response, HttpStatusCode.UnprocessableEntity, "wrong-channels", "3 channels (RGB)", "1 channel (grey)");
    }

    [Theory]
    [InlineData("GET", "/segment", HttpStatusCode.MethodNotAllowed, "method-not-allowed")]
    [InlineData("PUT", "/segment", HttpStatusCode.MethodNotAllowed, "method-not-allowed")]
    [InlineData("DELETE", "/", HttpStatusCode.MethodNotAllowed, "method-not-allowed")]
    [InlineData("POST", "/health", HttpStatusCode.MethodNotAllowed, "method-not-allowed")]
    [InlineData("GET", "/nothing-here", HttpStatusCode.NotFound, "not-found")]
    [InlineData("POST", "/segment/extra", HttpStatusCode.NotFound, "not-found")]
    public async Task AnUnsupportedMethodOrRoute_IsAProblem(string method, string path, HttpStatusCode status, string kind)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        var response = await _client.SendAsync(request, Token);
        await Answers.Problem(response, status, kind, path);
    }
}
