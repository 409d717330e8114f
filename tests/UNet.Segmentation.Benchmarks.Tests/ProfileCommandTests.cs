using System.Text.Json;
using UNet.Segmentation.Benchmarks.Profiling;

namespace UNet.Segmentation.Benchmarks.Tests;

/// <summary>
/// The <c>profile</c> command on a tiny reference U-Net (2 base filters, 188² in): every operator
/// kind of the step is listed with its count, the convolutions with their FLOPs, and the whole
/// step beside the parts. No timing is asserted beyond being positive.
/// </summary>
[Collection("LiveTensors")]
public class ProfileCommandTests
{
    private static (int Code, string Out, string Errors) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = ProfileCommand.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Theory]
    [InlineData("train", "bf16", "channels-last")]
    [InlineData("infer", "fp32", "contiguous")]
    public void Profile_ListsEveryOperatorOfTheStep_BesideTheWholeStep(string mode, string precision, string format)
    {
        var (code, text, errors) = Run("--mode", mode, "--precision", precision, "--format", format, "--filters", "2", "--size", "188", "--warmup", "0", "--steps", "1", "--threads", "1");
        Assert.True(code == 0, errors);
        var json = JsonDocument.Parse(text.Trim().Split('\n')[^1]).RootElement;
        Assert.True(json.GetProperty("step_ms").GetDouble() > 0);
        var ops = json.GetProperty("ops").EnumerateArray().ToList();
        int Count(string kind) => ops.Where(o => o.GetProperty("Kind").GetString() == kind).Sum(o => o.GetProperty("Count").GetInt32());
        bool training = mode == "train";
        Assert.Equal(18, Count("conv3x3"));
        Assert.Equal(4, Count("upconv"));
        Assert.Equal(4, Count("max-pool"));
        Assert.Equal(4, Count("crop+concat"));
        Assert.Equal(18, Count("relu"));
        Assert.Equal(1, Count("conv1x1"));
        Assert.Equal(1, Count("loss/softmax"));
        Assert.Equal(training ? 1 : 0, Count("dropout"));
        Assert.Equal(training ? 4 : 0, Count("optimizer")); // zero grads, gradients to master, Adam, refresh (bf16)
        Assert.Equal(training ? 2 : 0, Count("casts")); // bf16: input and logits; fp32 contiguous: none
        // The convolutions carry their FLOPs: 3 × forward in training but the first layer's input gradient.
        var first = ops.Single(o => o.GetProperty("Op").GetString() == "conv3x3 1→2 @188");
        double forward = 2.0 * 186 * 186 * 2 * 1 * 9;
        Assert.Equal(training ? 2 * forward : forward, first.GetProperty("Flops").GetDouble());
        Assert.Contains("| kind |", text, StringComparison.Ordinal);
        Assert.Contains("whole step", text, StringComparison.Ordinal);
    }

    [Fact]
    public void BadFlags_AreNamed_AndExitWith2()
    {
        var (code, _, errors) = Run("--mode", "sideways");
        Assert.Equal(2, code);
        Assert.Contains("--mode", errors, StringComparison.Ordinal);
        Assert.Equal(2, Run("--device", "cuda:0").Code); // CPU only (or no CUDA here): either way refused
    }
}
