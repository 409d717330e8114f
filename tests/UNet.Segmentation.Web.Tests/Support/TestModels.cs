using UNet.Segmentation.Export;
using UNet.Segmentation.Inference;
using UNet.Segmentation.Model;
using UNet.Segmentation.Onnx;
using static TorchSharp.torch;

namespace UNet.Segmentation.Web.Tests.Support;

/// <summary>
/// One tiny U-Net (4 filters, depth 2, valid padding as the reference), made once per test run from
/// a fixed seed, taught to threshold (<see cref="ThresholdModel"/>), and written as a checkpoint and as ONNX into a temporary folder, with reference
/// predictors that predict as the service is configured to (overlap tiles, one thread).
/// </summary>
internal static class TestModels
{
    private static readonly Lazy<(string Folder, string Onnx, string Checkpoint)> Files = new(Write);
    private static readonly Lazy<OnnxPredictor> OnnxReference = new(() => OnnxPredictor.Load(OnnxPath, new OnnxPredictorOptions { Input = InputMode.OverlapTile, Threads = 1 }));
    private static readonly Lazy<Predictor> TorchReference = new(() => Predictor.FromCheckpoint(CheckpointPath, new PredictorOptions { Input = InputMode.OverlapTile }));

    /// <summary>4 filters, depth 2, the first valid input size from 92 on, no dropout.</summary>
    public static UNetOptions Options { get; } = UNetOptions.Reference with
    {
        BaseFilters = 4,
        Depth = 2,
        InputSize = (UNetOptions.Reference with { Depth = 2 }).ValidInputSizes(92, 200).First(),
        Initialization = WeightInit.PyTorchDefault,
        DropoutRate = 0,
    };

    /// <summary>The model as ONNX (what the service serves by default).</summary>
    public static string OnnxPath => Files.Value.Onnx;

    /// <summary>The model as a safetensors checkpoint (for the TorchSharp engine).</summary>
    public static string CheckpointPath => Files.Value.Checkpoint;

    /// <summary>A folder of the run's own for other files (a damaged model, …).</summary>
    public static string Folder => Files.Value.Folder;

    /// <summary>The configuration every service in these tests starts from: the ONNX model, overlap tiles, one ONNX Runtime thread.</summary>
    public static Dictionary<string, string?> Settings(params (string Key, string? Value)[] overrides)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Segmentation:Engine"] = "Onnx",
            ["Segmentation:ModelPath"] = OnnxPath,
            ["Segmentation:Input"] = "OverlapTile",
            ["Segmentation:Threads"] = "1",
        };
        foreach (var (key, value) in overrides) settings["Segmentation:" + key] = value;
        return settings;
    }

    /// <summary>What the library's ONNX predictor, loaded on its own, predicts for an encoded image.</summary>
    public static ImagePrediction PredictOnnx(byte[] file) => OnnxReference.Value.PredictImage(file.AsMemory(), pictures: true);

    /// <summary>What the library's TorchSharp predictor, loaded on its own, predicts for an encoded image.</summary>
    public static ImagePrediction PredictTorch(byte[] file) => TorchReference.Value.PredictImage(file.AsMemory(), pictures: true);

    /// <summary>
    /// A U-Net taught in a few dozen steps to mark the pixels brighter than mid-grey as class 1, so that
    /// its masks mix both classes on any image with contrast (an untrained one gives one class
    /// everywhere, and a uniform mask would not show that pixels are compared in place).
    /// </summary>
    private static UNetModel ThresholdModel()
    {
        manual_seed(7);
        var model = new UNetModel(Options);
        int size = Options.InputSize, output = Options.OutputSize(size), margin = (size - output) / 2;
        model.train();
        using (var optimizer = optim.Adam(model.parameters(), lr: 0.02))
        {
            for (int step = 0; step < 60; step++)
            {
                using var scope = NewDisposeScope();
                var images = rand([4, 1, size, size]).mul(2).sub(1);
                var target = images.narrow(2, margin, output).narrow(3, margin, output).squeeze(1).gt(0).to(ScalarType.Int64);
                var loss = nn.functional.cross_entropy(model.call(images), target);
                optimizer.zero_grad();
                loss.backward();
                optimizer.step();
            }
        }
        model.eval();
        return model;
    }

    private static (string, string, string) Write()
    {
        string folder = Directory.CreateTempSubdirectory("unet-web-tests-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { Directory.Delete(folder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        };
        string onnx = Path.Combine(folder, "tiny.onnx");
        string checkpoint = Path.Combine(folder, "tiny.safetensors");
        using var model = ThresholdModel();
        model.Save(checkpoint);
        OnnxExport.Save(model, onnx);
        return (folder, onnx, checkpoint);
    }
}
