using Microsoft.ML.OnnxRuntime;
using UNet.Segmentation.Export;
using UNet.Segmentation.Model.NnUNet;
using UNet.Segmentation.Tests.Model;
using static TorchSharp.torch;

namespace UNet.Segmentation.Tests.Export;

/// <summary><see cref="NnUNetOnnxExport"/>: ONNX Runtime runs what was written like TorchSharp (≤ 1e-4), and ONNX's checker accepts it.</summary>
[Collection("LiveTensors")]
public class NnUNetOnnxExportTests
{
    public static TheoryData<string, int[]> Cases => new()
    {
        { "3d", new[] { 1, 2, 8, 16, 16 } },
        { "3d", new[] { 2, 2, 12, 24, 8 } }, // another size than the patch: the spatial dims are dynamic
        { "2d", new[] { 1, 1, 32, 24 } },
        { "2d", new[] { 3, 1, 16, 48 } },
    };

    private static NnUNetModel RandomModel(string name)
    {
        manual_seed(11);
        var model = new NnUNetModel(name == "3d" ? NnUNetModelTests.Small3D : NnUNetModelTests.Small2D);
        // Random affine norms and biases, so every initializer matters.
        using (no_grad())
            foreach (var (key, p) in model.named_parameters())
                if (key.Contains(".norm", StringComparison.Ordinal) || key.EndsWith(".bias", StringComparison.Ordinal))
                    p.copy_(randn(p.shape) * 0.3 + (key.EndsWith("norm1.weight") || key.EndsWith("norm2.weight") ? 1 : 0));
        model.eval();
        return model;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void OnnxRuntime_MatchesTheTorchSharpForward(string name, int[] shape)
    {
        using var model = RandomModel(name);
        string path = Path.Combine(Path.GetTempPath(), $"nnunet-{Guid.NewGuid():N}.onnx");
        try
        {
            var result = NnUNetOnnxExport.Save(model, path);
            Assert.True(result.NodeCount > 0);
            using var scope = NewDisposeScope();
            manual_seed(12);
            long[] dims = shape.Select(v => (long)v).ToArray();
            var image = randn(dims);
            Tensor logits;
            using (no_grad()) logits = model.forward(image);
            var probabilities = logits.softmax(1);
            // The Onnx project's own session settings (threads, graph optimisation), as OnnxPredictor opens it.
            using var session = UNet.Segmentation.Onnx.OnnxSessions.Open(path, new UNet.Segmentation.Onnx.OnnxPredictorOptions());
            var (onnxProbabilities, onnxLogits, probabilitiesShape, logitsShape) = OnnxTestSupport.OnnxForward(session, image.data<float>().ToArray(), dims);
            Assert.Equal(logits.shape, logitsShape);
            Assert.Equal(logits.shape, probabilitiesShape);
            float logitError = logits.data<float>().ToArray().Zip(onnxLogits, (a, b) => Math.Abs(a - b)).Max();
            float probabilityError = probabilities.data<float>().ToArray().Zip(onnxProbabilities, (a, b) => Math.Abs(a - b)).Max();
            Assert.True(logitError <= 1e-4f, $"logits differ by {logitError}");
            Assert.True(probabilityError <= 1e-4f, $"probabilities differ by {probabilityError}");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("3d")]
    [InlineData("2d")]
    public void OnnxChecker_AcceptsTheFile(string name)
    {
        OnnxChecker.Require();
        using var model = RandomModel(name);
        string path = Path.Combine(Path.GetTempPath(), $"nnunet-{Guid.NewGuid():N}.onnx");
        try
        {
            NnUNetOnnxExport.Save(model, path);
            var described = Assert.Single(OnnxChecker.Check([path]));
            var operators = described.GetProperty("operators");
            foreach (var op in new[] { "Conv", "ConvTranspose", "InstanceNormalization", "LeakyRelu", "Concat", "Softmax" })
                Assert.True(operators.TryGetProperty(op, out _), $"no {op} in the graph");
            Assert.Equal(model.Options.ToJson(), described.GetProperty("metadata").GetProperty(NnUNetModel.OptionsMetadataKey).GetString());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void BadArguments_AreRefusedNamingThem_AndExportLeavesNoTensor()
    {
        using var model = RandomModel("2d");
        string folder = Directory.CreateTempSubdirectory("nnunet-onnx-").FullName;
        try
        {
            Assert.Equal("path", Assert.Throws<ArgumentException>(() => NnUNetOnnxExport.Save(model, folder)).ParamName);
            Assert.Equal("opset", Assert.Throws<ArgumentOutOfRangeException>(() => NnUNetOnnxExport.Save(model, Path.Combine(folder, "a.onnx"), opset: 12)).ParamName);
            NnUNetOnnxExport.Save(model, Path.Combine(folder, "b.onnx"));
            long before = UNet.Segmentation.Tests.Shared.LiveTensors.SettledCount();
            NnUNetOnnxExport.Save(model, Path.Combine(folder, "c.onnx"));
            Assert.Equal(before, UNet.Segmentation.Tests.Shared.LiveTensors.SettledCount());
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
