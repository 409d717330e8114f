using UNet.Segmentation.Web.Tests.Support;

namespace UNet.Segmentation.Web.Tests;

/// <summary>Segmentation:Engine=TorchSharp serves a checkpoint with the TorchSharp predictor.</summary>
public sealed class EngineTests
{
    [Fact]
    public async Task TheTorchSharpEngine_ServesTheCheckpoint_AndSaysSo()
    {
        await using var service = new ServiceFactory(("Engine", "TorchSharp"), ("ModelPath", TestModels.CheckpointPath));
        using var client = service.CreateClient();
        var token = TestContext.Current.CancellationToken;

        var health = await Answers.Success(await client.GetAsync("/health", token));
        Assert.Equal("torchsharp", health.GetProperty("engine").GetString());
        Assert.Equal("tiny.safetensors", health.GetProperty("modelFile").GetString());

        var png = TestImages.GreyPng(64, 50, seed: 3);
        var answer = await Answers.Success(await client.PostAsync("/segment", Answers.Multipart(png), token));
        Assert.Equal("torchsharp", answer.GetProperty("engine").GetString());
        Assert.Equal(TestModels.PredictTorch(png).Mask, Answers.Mask(answer));
    }
}
