using System.Text.RegularExpressions;
using UNet.Segmentation.Web.Tests.Support;

namespace UNet.Segmentation.Web.Tests;

/// <summary>GET / and GET /health.</summary>
public sealed class PageAndHealthTests : IClassFixture<PageAndHealthTests.Service>
{
    public sealed class Service() : ServiceFactory(TestModels.Settings(("MaxConcurrentPredictions", "3"), ("QueueLength", "7")))
    {
    }

    private readonly HttpClient _client;

    public PageAndHealthTests(Service service) => _client = service.CreateClient();

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Health_SaysTheModelIsLoaded_ByWhichEngine_FromWhichFile_WithTheLimits()
    {
        var health = await Answers.Success(await _client.GetAsync("/health", Token));
        Assert.Equal("ok", health.GetProperty("status").GetString());
        Assert.True(health.GetProperty("modelLoaded").GetBoolean());
        Assert.Equal("onnx", health.GetProperty("engine").GetString());
        Assert.Equal("tiny.onnx", health.GetProperty("modelFile").GetString());
        Assert.Equal(1, health.GetProperty("inputChannels").GetInt32());
        Assert.Equal(2, health.GetProperty("classes").GetInt32());
        Assert.Equal("OverlapTile", health.GetProperty("input").GetString());
        Assert.Equal(3, health.GetProperty("maxConcurrentPredictions").GetInt32());
        Assert.Equal(7, health.GetProperty("queueLength").GetInt32());
    }

    [Fact]
    public async Task ThePage_IsOneSelfContainedHtmlFile_WithAFileInput_ThatPostsToSegment()
    {
        var response = await _client.GetAsync("/", Token);
        response.EnsureSuccessStatusCode();
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        string html = await response.Content.ReadAsStringAsync(Token);
        Assert.Matches("<input id=\"file\" type=\"file\"", html);
        Assert.Contains("fetch(\"segment\"", html);
        Assert.Contains("form.append(\"image\"", html);
        // Nothing from elsewhere: no external script, stylesheet, font or image.
        Assert.DoesNotMatch(new Regex("<script[^>]+src=|<link[^>]+href=|https?://|@import|url\\("), html);
        Assert.Contains("default-src 'none'", response.Headers.GetValues("Content-Security-Policy").Single());
    }
}
