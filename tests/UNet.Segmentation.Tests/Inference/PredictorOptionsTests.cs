using TorchSharp;
using UNet.Segmentation.Inference;
using UNet.Segmentation.Runtime;
using UNet.Segmentation.Training;
using static TorchSharp.torch;
using static UNet.Segmentation.Tests.Inference.InferenceTestSupport;

namespace UNet.Segmentation.Tests.Inference;

public class PredictorOptionsTests
{
    [Fact]
    public void Defaults_AreTheReferencePredictPath()
    {
        var o = new PredictorOptions();
        Assert.Equal(InputMode.ReferenceResize, o.Input);
        Assert.Equal(0.5, o.TileOverlap);
        Assert.True(o.GaussianBlending);
        Assert.False(o.FlipTta);
        Assert.Equal(4, o.BatchSize);
        Assert.Null(o.Device);
        Assert.Null(o.MemoryFormat);
        Assert.Equal(Precision.Float32, o.Precision);
        Assert.True(o.KeepFreedMemory);
        Assert.Equal(o, PredictorOptions.Reference);
        Assert.Equal(InputMode.OverlapTile, PredictorOptions.Tiled.Input);
        Assert.Empty(o.Validate());
    }

    public static TheoryData<PredictorOptions, string> BadOptions() => new()
    {
        { new() { TileOverlap = 1 }, "TileOverlap" },
        { new() { TileOverlap = -0.01 }, "TileOverlap" },
        { new() { TileOverlap = double.NaN }, "TileOverlap" },
        { new() { BatchSize = 0 }, "BatchSize" },
        { new() { Input = (InputMode)7 }, "Input" },
        { new() { MemoryFormat = (TorchSharp.memory_format)9 }, "MemoryFormat" },
        { new() { Device = new Device((DeviceType)99) }, "Device" },
        { new() { Device = new Device(DeviceType.CUDA, -2) }, "Device" },
        { new() { Precision = (Precision)4 }, "Precision" },
        { new() { Precision = Precision.Float16, Device = CPU }, "Precision" },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void BadOptions_AreRejectedByName_BeforeAnythingIsLoaded(PredictorOptions options, string name)
    {
        var e = Assert.Throws<OptionsValidationException>(() => options.EnsureValid());
        Assert.Equal(name, e.ParamName);
        Assert.StartsWith(name, Assert.Single(options.Validate()));

        using var model = NewModel();
        Assert.Equal(name, Assert.Throws<OptionsValidationException>(() => new Predictor(model, options)).ParamName);
        // the options are checked before the file is touched
        Assert.Equal(name, Assert.Throws<OptionsValidationException>(() => Predictor.FromCheckpoint("/nonexistent/model.safetensors", options)).ParamName);
    }

    [Fact]
    public void SeveralProblems_AreAllListed()
    {
        var problems = new PredictorOptions { BatchSize = -1, TileOverlap = 2 }.Validate();
        Assert.Equal(2, problems.Count);
        var e = Assert.Throws<OptionsValidationException>(() => new PredictorOptions { BatchSize = -1, TileOverlap = 2 }.EnsureValid());
        Assert.Equal(problems, e.Problems);
        Assert.Contains("BatchSize", e.Message);
        Assert.Contains("TileOverlap", e.Message);
    }

    [Fact]
    public void KeepFreedMemory_IsOnByDefault_AndAPredictorLeavesFreedMemoryReuseOn()
    {
        Assert.True(PredictorOptions.Reference.KeepFreedMemory);
        Assert.True(PredictorOptions.Tiled.KeepFreedMemory);
        using var model = NewModel();
        using var predictor = new Predictor(model, new PredictorOptions { KeepFreedMemory = true });
        if (Environment.GetEnvironmentVariable(FreedMemoryReuse.EnvironmentVariable) == "0" || !OperatingSystem.IsLinux())
        {
            // The documented opt-out wins for the whole process; elsewhere than Linux the setting does nothing.
            Assert.False(FreedMemoryReuse.IsEnabled);
            return;
        }
        Assert.True(FreedMemoryReuse.IsEnabled, "a predictor with KeepFreedMemory should turn on glibc's freed-memory reuse (Linux with glibc)");
        // it stays on: a later predictor that opts out does not turn it off
        using (new Predictor(model, new PredictorOptions { KeepFreedMemory = false }))
            Assert.True(FreedMemoryReuse.IsEnabled);
    }
}
