using System.Net;
using UNet.Segmentation.Web.Hosting;
using UNet.Segmentation.Web.Tests.Support;

namespace UNet.Segmentation.Web.Tests;

/// <summary>The bound on concurrent predictions, its queue, and the request timeout.</summary>
public sealed class ConcurrencyTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(2, 4)]   // mostly refused: 64 requests, 2 slots, 4 queue places
    [InlineData(4, 64)]  // every request finds a place
    public async Task SixtyFourConcurrentRequests_AreAllAnswered_200OrBusy_AndEvery200IsTheSerialMask(int slots, int queue)
    {
        await using var service = new ServiceFactory(("MaxConcurrentPredictions", slots.ToString()), ("QueueLength", queue.ToString()));
        using var client = service.CreateClient();
        var images = Enumerable.Range(0, 64).Select(i => TestImages.GreyPng(24 + i % 5 * 7, 30 + i % 3 * 9, seed: i)).ToArray();
        var serial = images.Select(image => TestModels.PredictOnnx(image).Mask).ToArray();

        using var start = new ManualResetEventSlim();
        var requests = images.Select((image, i) => Task.Run(async () =>
        {
            start.Wait(Token);
            return await client.PostAsync("/segment", Answers.Multipart(image, fileName: $"slice{i}.png"), Token);
        })).ToArray();
        start.Set();
        var responses = await Task.WhenAll(requests);

        int ok = 0;
        for (int i = 0; i < responses.Length; i++)
        {
            if (responses[i].StatusCode == HttpStatusCode.OK)
            {
                ok++;
                Assert.Equal(serial[i], Answers.Mask(await Answers.Success(responses[i])));
            }
            else
            {
                await Answers.Problem(responses[i], HttpStatusCode.ServiceUnavailable, "busy");
                Assert.NotNull(responses[i].Headers.RetryAfter?.Delta);
            }
        }
        // A refusal means every slot and queue place was taken at that moment, and those all finish.
        Assert.True(ok >= Math.Min(64, slots + queue), $"{ok} of 64 answered 200; the slots and queue hold {slots + queue}");
    }

    [Fact]
    public async Task BeyondTheSlotsAndTheQueue_ARequestIsRefusedAtOnce_503WithRetryAfter()
    {
        var predictor = new GatedPredictor();
        await using var service = new ServiceFactory(TestModels.Settings(("MaxConcurrentPredictions", "1"), ("QueueLength", "1")),
            () => PredictorHost.For(predictor, "gated", "gated.model"));
        using var client = service.CreateClient();

        // Nothing can finish while the gate is shut, except a refusal: of three requests for one slot
        // and one queue place, exactly one is refused, and it is refused while the others wait.
        var requests = Enumerable.Range(0, 3).Select(_ => client.PostAsync("/segment", Answers.Raw(TestImages.GreyPng(8, 8)), Token)).ToList();
        var first = await Task.WhenAny(requests);
        var refused = await first;
        var problem = await Answers.Problem(refused, HttpStatusCode.ServiceUnavailable, "busy", "1 prediction(s) are running and 1 request(s) are queued");
        Assert.True(refused.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
        Assert.All(requests.Where(r => r != first), r => Assert.False(r.IsCompleted));

        predictor.Open();
        foreach (var other in requests.Where(r => r != first))
            await Answers.Success(await other);
    }

    [Fact]
    public async Task APredictionLongerThanTheTimeout_Is503_AndItsSlotIsHeldUntilTheWorkEnds()
    {
        var predictor = new GatedPredictor();
        await using var service = new ServiceFactory(TestModels.Settings(("MaxConcurrentPredictions", "1"), ("QueueLength", "0"), ("RequestTimeoutSeconds", "0.5")),
            () => PredictorHost.For(predictor, "gated", "gated.model"));
        using var client = service.CreateClient();

        var late = await client.PostAsync("/segment", Answers.Raw(TestImages.GreyPng(8, 8)), Token);
        await Answers.Problem(late, HttpStatusCode.ServiceUnavailable, "prediction-timeout", "0.5 s");
        Assert.NotNull(late.Headers.RetryAfter?.Delta);

        // The abandoned prediction still runs: the one slot is taken and the queue has no place.
        var meanwhile = await client.PostAsync("/segment", Answers.Raw(TestImages.GreyPng(8, 8)), Token);
        await Answers.Problem(meanwhile, HttpStatusCode.ServiceUnavailable, "busy");

        predictor.Open();
        HttpResponseMessage after;
        var waited = System.Diagnostics.Stopwatch.StartNew();
        do after = await client.PostAsync("/segment", Answers.Raw(TestImages.GreyPng(8, 8)), Token);
        while (after.StatusCode == HttpStatusCode.ServiceUnavailable && waited.Elapsed < TimeSpan.FromSeconds(30));
        await Answers.Success(after);
    }

    [Fact]
    public async Task AnUploadSlowerThanTheTimeout_Is408()
    {
        // On Kestrel, by hand: TestServer waits for the whole body before it calls the app, and
        // HttpClient waits to finish sending before it reads an answer.
        await using var service = new ServiceFactory(("RequestTimeoutSeconds", "0.5"));
        var server = service.StartOnKestrel();
        var (status, body) = await RawHttp.SendPartAsync(server,
            $"POST /segment HTTP/1.1\r\nHost: {server.Authority}\r\nContent-Type: image/png\r\nContent-Length: 1000",
            TestImages.GreyPng(8, 8)[..8], Token);
        Assert.Equal(408, status);
        Assert.Contains("urn:unet-segmentation:problem:upload-timeout", body);
        Assert.Contains("did not arrive within 0.5 s", body);
    }
}
