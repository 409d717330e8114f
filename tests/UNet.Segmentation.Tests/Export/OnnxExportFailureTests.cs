using TorchSharp;
using UNet.Segmentation.Export;
using UNet.Segmentation.Model;
using UNet.Segmentation.Tests.Imaging;
using UNet.Segmentation.Tests.Shared;
using static TorchSharp.torch;
using static UNet.Segmentation.Tests.Export.OnnxTestSupport;

namespace UNet.Segmentation.Tests.Export;

/// <summary>What <see cref="OnnxExport.Save"/> refuses, with which exception, and that a refused or failed export leaves an existing file intact, no temporary file and no tensor behind.</summary>
[Collection("LiveTensors")]
public sealed class OnnxExportFailureTests : IDisposable
{
    private static readonly byte[] OldContent = "an earlier export"u8.ToArray();
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private string ExistingFile()
    {
        string path = _dir.File("model.onnx");
        File.WriteAllBytes(path, OldContent);
        return path;
    }

    private void AssertUntouched(string path)
    {
        Assert.Equal(OldContent, File.ReadAllBytes(path));
        Assert.Equal(["model.onnx"], _dir.Entries());
    }

    [Fact]
    public void BadArguments_NameTheArgument()
    {
        using var model = RandomModel(Cases["reference"].Options);
        string path = ExistingFile();
        Assert.Equal("model", Assert.Throws<ArgumentNullException>(() => OnnxExport.Save(null!, path)).ParamName);
        Assert.Equal("path", Assert.Throws<ArgumentNullException>(() => OnnxExport.Save(model, null!)).ParamName);
        Assert.Equal("path", Assert.Throws<ArgumentException>(() => OnnxExport.Save(model, "")).ParamName);
        Assert.Equal("path", Assert.Throws<ArgumentException>(() => OnnxExport.Save(model, "  ")).ParamName);
        var folder = Assert.Throws<ArgumentException>(() => OnnxExport.Save(model, _dir.Path));
        Assert.Equal("path", folder.ParamName);
        Assert.Contains("is a folder", folder.Message);
        AssertUntouched(path);
    }

    [Theory]
    [InlineData(16)]
    [InlineData(27)]
    [InlineData(0)]
    public void AnOpsetOutsideTheOfferedRange_IsRefused_BeforeAnythingIsWritten(int opset)
    {
        using var model = RandomModel(Cases["reference"].Options);
        string path = ExistingFile();
        var e = Assert.Throws<OptionsValidationException>(() => OnnxExport.Save(model, path, new OnnxExportOptions { Opset = opset }));
        Assert.Equal("Opset", e.ParamName);
        Assert.Contains($"Invalid ONNX export options: Opset must lie in 17..{OnnxExport.MaxOpset} (got {opset})", e.Message);
        AssertUntouched(path);
    }

    [Fact]
    public void ADisposedModel_IsRefused()
    {
        var model = RandomModel(Cases["reference"].Options);
        model.Dispose();
        string path = ExistingFile();
        var e = Assert.Throws<ObjectDisposedException>(() => OnnxExport.Save(model, path));
        Assert.Equal("model", e.ObjectName);
        AssertUntouched(path);
    }

    [Fact]
    public void WeightsThatDoNotFitTheOptions_FailHalfwayThroughTheGraph_AndLeaveTheOldFileAndNoTensor()
    {
        using var model = RandomModel(Cases["reference"].Options);
        string path = ExistingFile();
        OnnxExport.Save(model, _dir.File("warm.onnx"));
        File.Delete(_dir.File("warm.onnx"));
        // The decoder's first conv gets 5 input channels where the concatenation gives 8: the
        // encoder's weights are already in the graph when the exporter meets it.
        using (no_grad())
        {
            var weight = model.named_parameters().Single(p => p.name == "up_blocks.0.conv1.weight").parameter;
            using var wrong = randn(8, 5, 3, 3);
            weight.set_(wrong);
        }
        long baseline = LiveTensors.SettledCount();
        var e = Assert.Throws<ArgumentException>(() => OnnxExport.Save(model, path));
        Assert.Equal("model", e.ParamName);
        Assert.Contains("weight 'up_blocks.0.conv1.weight' has shape [8, 5, 3, 3]; the graph needs out × in × 3 × 3 with 16 input channels", e.Message);
        AssertUntouched(path);
        Assert.Equal(baseline, LiveTensors.SettledCount());
    }

    [Fact]
    public void AMissingFolder_FailsWithoutCreatingAnything()
    {
        using var model = RandomModel(Cases["reference"].Options);
        Assert.Throws<DirectoryNotFoundException>(() => OnnxExport.Save(model, Path.Combine(_dir.Path, "missing", "model.onnx")));
        Assert.Empty(_dir.Entries());
    }

    [Fact]
    public void ASuccessfulExport_ReplacesAnExistingFile_WithoutTemporaryFiles()
    {
        using var model = RandomModel(Cases["reference"].Options);
        string path = ExistingFile();
        var result = OnnxExport.Save(model, path);
        Assert.Equal(["model.onnx"], _dir.Entries());
        Assert.Equal(result.Bytes, new FileInfo(path).Length);
        Assert.NotEqual(OldContent, File.ReadAllBytes(path));
    }
}
