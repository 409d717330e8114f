using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using UNet.Segmentation.Web.Limits;
using UNet.Segmentation.Web.Problems;
using UNet.Segmentation.Web.Tests.Support;

namespace UNet.Segmentation.Web.Tests;

/// <summary>Bodies over Segmentation:MaxRequestBytes (20 MB here, as appsettings.json has it) get 413, declared or not.</summary>
public sealed class BodyLimitTests : IClassFixture<BodyLimitTests.Service>
{
    private const int FiftyMegabytes = 50_000_000;

    public sealed class Service() : ServiceFactory(TestModels.Settings(("MaxRequestBytes", "20000000")))
    {
    }

    private readonly HttpClient _client;

    public BodyLimitTests(Service service) => _client = service.CreateClient();

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    /// <summary>50 MB that start as a PNG, so that only the size is wrong.</summary>
    private static byte[] FiftyMegabytePng()
    {
        var body = new byte[FiftyMegabytes];
        TestImages.GreyPng(8, 8).CopyTo(body, 0);
        return body;
    }

    [Fact]
    public async Task AFiftyMegabyteRawBody_Is413_FromItsContentLength()
    {
        var response = await _client.PostAsync("/segment", Answers.Raw(FiftyMegabytePng()), Token);
        await Answers.Problem(response, HttpStatusCode.RequestEntityTooLarge, "body-too-large", "50000000 bytes", "20000000");
    }

    [Fact]
    public async Task AFiftyMegabyteMultipartUpload_Is413()
    {
        var response = await _client.PostAsync("/segment", Answers.Multipart(FiftyMegabytePng(), fileName: "big.png"), Token);
        await Answers.Problem(response, HttpStatusCode.RequestEntityTooLarge, "body-too-large", "20000000");
    }

    [Fact]
    public async Task KestrelHoldsTheSameLimit()
    {
        await using var service = new Service();
        var kestrel = service.Services.GetRequiredService<IOptions<KestrelServerOptions>>().Value;
        Assert.Equal(20_000_000, kestrel.Limits.MaxRequestBodySize);
    }

    [Fact]
    public async Task ABodyWithoutContentLength_Is413_AsSoonAsItGoesPastTheLimit()
    {
        // UploadReader on its own: TestServer always knows the length, and Kestrel would stop the body first.
        var body = new CountingStream(new byte[1_000_000]);
        var context = new DefaultHttpContext();
        context.Request.Body = body;
        context.Request.ContentType = "image/png";
        var problem = (await Assert.ThrowsAsync<RequestProblemException>(() => UploadReader.ReadAsync(context.Request, 1_000, Token))).Problem;
        Assert.Equal(413, problem.Status);
        Assert.Equal("body-too-large", problem.Kind);
        Assert.Contains("goes on past 1000 bytes", problem.Detail);
        Assert.True(body.Position < 1_000_000, $"read {body.Position} bytes of 1000000: it should stop reading at the limit");
    }

    /// <summary>A body of unknown length that counts what was read from it.</summary>
    private sealed class CountingStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
    }
}
