using UNet.Segmentation.Benchmarks.SideBySide;
using UNet.Segmentation.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace UNet.Segmentation.Benchmarks.Tests;

/// <summary>The side-by-side worker's arguments: the same flags as peer_step.py, bad ones named.</summary>
public class StepOptionsTests
{
    [Fact]
    public void Flags_SetEveryField()
    {
        var o = StepOptions.Parse(["--mode", "infer", "--batch", "8", "--precision", "fp16", "--format", "channels-last",
            "--filters", "16", "--size", "188", "--warmup", "0", "--steps", "4", "--threads", "3", "--device", "cpu", "--rss-every", "5"]);
        Assert.Equal("infer", o.Mode);
        Assert.Equal(8, o.Batch);
        Assert.Equal(Precision.Float16, o.Precision);
        Assert.Equal("fp16", o.PrecisionName);
        Assert.True(o.ChannelsLast);
        Assert.Equal((16, 188, 0, 4, 3, 5), (o.Filters, o.Size, o.Warmup, o.Steps, o.Threads, o.RssEvery));
        Assert.Equal("cpu", o.Device.ToString());
        Assert.False(o.Backward || o.Phases);
        var p = StepOptions.Parse(["--pass", "backward", "--phases", "1"]);
        Assert.True(p.Backward && p.Phases);
    }

    [Fact]
    public void Cuda_IsTakenWhereItExists_AndRefusedByNameWhereNot()
    {
        if (cuda.is_available())
        {
            Assert.Equal("cuda:0", StepOptions.Parse(["--device", "cuda:0"]).Device.ToString());
            return;
        }
        var e = Assert.Throws<ArgumentException>(() => StepOptions.Parse(["--device", "cuda"]));
        Assert.Equal("--device", e.ParamName);
        Assert.Contains("CUDA is not available", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NoFlags_GiveTheDefaults()
    {
        var o = StepOptions.Parse([]);
        Assert.Equal(("train", 1, Precision.Float32, false, 64, 572), (o.Mode, o.Batch, o.Precision, o.ChannelsLast, o.Filters, o.Size));
        Assert.Equal(DeviceType.CPU, o.Device.type);
    }

    [Theory]
    [InlineData("--device", "gpu", "cpu, cuda or cuda:N")]
    [InlineData("--precision", "fp8", "fp32, bf16 or fp16")]
    [InlineData("--batch", "0", "a positive integer")]
    [InlineData("--mode", "eval", "train or infer")]
    [InlineData("--colour", "red", "unknown flag")]
    [InlineData("--pass", "sideways", "forward or backward")]
    [InlineData("--phases", "yes", "0 or 1")]
    public void BadFlags_AreNamed(string flag, string value, string expected)
    {
        var e = Assert.Throws<ArgumentException>(() => StepOptions.Parse([flag, value]));
        Assert.Equal(flag, e.ParamName);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AFlagWithoutValue_IsNamed()
    {
        var e = Assert.Throws<ArgumentException>(() => StepOptions.Parse(["--steps"]));
        Assert.Contains("--steps needs a value", e.Message, StringComparison.Ordinal);
    }
}
