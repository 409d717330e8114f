using UNet.Segmentation.Export;
using UNet.Segmentation.Inference;
using UNet.Segmentation.Model;
using UNet.Segmentation.Onnx;
using UNet.Segmentation.Tests.Inference;
using static TorchSharp.torch;

namespace UNet.Segmentation.Tests.Onnx;

/// <summary>The ONNX predictor from bytes in memory, and shared by many threads.</summary>
public sealed class OnnxInMemoryTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("onnx-memory-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Export()
    {
        using var model = InferenceTestSupport.NewModel();
        string path = Path.Combine(_dir, "small.onnx");
        OnnxExport.Save(model, path);
        return path;
    }

    [Fact]
    public void ModelBytes_PredictAsTheFile()
    {
        string path = Export();
        var image = new byte[35 * 44];
        new Random(8).NextBytes(image);
        using var fromFile = OnnxPredictor.Load(path, OnnxPredictorOptions.Tiled with { Threads = 1 });
        using var fromBytes = OnnxPredictor.Load(File.ReadAllBytes(path), OnnxPredictorOptions.Tiled with { Threads = 1 });
        Assert.Equal("the model bytes", fromBytes.Path);
        Assert.Equal(fromFile.PredictImage(image, 35, 44, 1).Probabilities, fromBytes.PredictImage(image, 35, 44, 1).Probabilities);
    }

    [Fact]
    public void BadModelBytes_GiveOnnxModelException_NamingThem()
    {
        Assert.Equal("model", Assert.Throws<ArgumentException>(() => OnnxPredictor.Load(Array.Empty<byte>())).ParamName);
        var text = Assert.Throws<OnnxModelException>(() => OnnxPredictor.Load("not an onnx model"u8.ToArray()));
        Assert.Equal("the model bytes", text.Path);
        var bytes = File.ReadAllBytes(Export());
        var truncated = Assert.Throws<OnnxModelException>(() => OnnxPredictor.Load(bytes[..(bytes.Length / 2)]));
        Assert.Contains("the model bytes", truncated.Message);
    }

    [Fact]
    public void ThirtyTwoConcurrentCalls_EqualTheSerialOnes()
    {
        using var predictor = OnnxPredictor.Load(File.ReadAllBytes(Export()), OnnxPredictorOptions.Tiled with { Threads = 1, FlipTta = true, BatchSize = 2 });
        ConcurrentPredictionTests.AssertConcurrentEqualsSerial(predictor);
    }
}
