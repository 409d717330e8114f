using Microsoft.ML.OnnxRuntime;
using TorchSharp;
using UNet.Segmentation.Model;
using UNet.Segmentation.Training;
using static TorchSharp.torch;

namespace UNet.Segmentation.Cli.Tests;

/// <summary><c>unet export</c>: a file ONNX Runtime runs and one line saying what was written, or one error line.</summary>
public sealed class ExportCommandTests : IDisposable
{
    private static readonly UNetOptions Small = UNetOptions.Reference with { BaseFilters = 4, Depth = 2, InputSize = 44, Initialization = WeightInit.PyTorchDefault };
    private readonly string _dir = Directory.CreateTempSubdirectory("cli-export-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string OneLine(string text) =>
        Assert.Single(text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    private static void AssertOneErrorLine(int code, string stdout, string stderr, params string[] expected)
    {
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        string line = OneLine(stderr);
        Assert.StartsWith("error: ", line);
        foreach (var e in expected) Assert.Contains(e, line);
        Assert.DoesNotContain("Exception", line);
    }

    /// <summary>ONNX Runtime's logits for an image against the model's own eval forward.</summary>
    private static void AssertOnnxRuntimeMatches(string onnxPath, UNetModel model)
    {
        using var scope = NewDisposeScope();
        manual_seed(11);
        var image = randn(2, 1, 48, 44);
        model.eval();
        float[] expected;
        using (no_grad()) expected = model.forward(image).data<float>().ToArray();

        using var session = new InferenceSession(onnxPath);
        Assert.Equal(model.Options, UNetOptions.FromJson(session.ModelMetadata.CustomMetadataMap["unet_options"]));
        using var input = OrtValue.CreateTensorValueFromMemory(image.data<float>().ToArray(), image.shape);
        using var run = new RunOptions();
        using var outputs = session.Run(run, ["image"], [input], ["probabilities", "logits"]);
        Assert.Equal(new long[] { 2, 2, 8, 4 }, outputs[1].GetTensorTypeAndShape().Shape);
        float[] actual = outputs[1].GetTensorDataAsSpan<float>().ToArray();
        Assert.Equal(expected.Length, actual.Length);
        Assert.All(expected.Zip(actual), p => Assert.True(Math.Abs(p.First - p.Second) <= 1e-4, $"{p.First} vs {p.Second}"));
    }

    [Fact]
    public void AModelFile_IsExported_AndOnnxRuntimeComputesItsLogits()
    {
        manual_seed(4);
        using var model = new UNetModel(Small);
        string checkpoint = Path.Combine(_dir, "model.safetensors");
        model.Save(checkpoint);
        string onnx = Path.Combine(_dir, "model.onnx");

        var (code, stdout, stderr) = CliProcess.RunSplit(
            new Dictionary<string, string?> { ["LANG"] = "de_DE.UTF-8", ["LC_ALL"] = "de_DE.UTF-8" },
            "export", "--checkpoint", checkpoint, "--onnx", onnx);

        Assert.True(code == 0, stderr);
        Assert.Equal("", stderr);
        string mb = (new FileInfo(onnx).Length / 1e6).ToString("F1", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(
            $"wrote {onnx} ({mb} MB, opset 17, IR 8): image [N, 1, H, W] -> probabilities, logits [N, 2, H', W']; H and W each one of 44, 48, 52, ... (every 4); 44 -> 4",
            OneLine(stdout));
        AssertOnnxRuntimeMatches(onnx, model);
    }

    /// <summary>A small model and a training checkpoint of it (weights, Adam's state, the step).</summary>
    private (UNetModel Model, string Checkpoint) TrainingCheckpoint()
    {
        manual_seed(5);
        var model = new UNetModel(Small);
        string dir = Path.Combine(_dir, "checkpoints");
        using (var adam = torch.optim.Adam(model.parameters()))
            Checkpoints.Save(dir, model, adam, new UNet.Segmentation.Training.CheckpointState(1, 1, new LossScalerState(1, 0, 0), 0));
        return (model, Assert.Single(Directory.GetFiles(dir)));
    }

    [Fact]
    public void ATrainingCheckpoint_IsExported_AtTheOpsetAskedFor()
    {
        var (model, checkpoint) = TrainingCheckpoint();
        using var _ = model;
        string onnx = Path.Combine(_dir, "trained.onnx");

        var (code, stdout, stderr) = CliProcess.RunSplit(null, "export", "--checkpoint", checkpoint, "--onnx", onnx, "--opset", "21");

        Assert.True(code == 0, stderr);
        Assert.Contains("opset 21, IR 10", OneLine(stdout));
        AssertOnnxRuntimeMatches(onnx, model);
    }

    [Fact]
    public void WithWeights_ATrainingCheckpointAlsoBecomesTheModelAloneAThirdOfItsSize()
    {
        var (model, checkpoint) = TrainingCheckpoint();
        using var _ = model;
        string onnx = Path.Combine(_dir, "m.onnx"), weights = Path.Combine(_dir, "m.safetensors");

        var (code, stdout, stderr) = CliProcess.RunSplit(null, "export", "--checkpoint", checkpoint, "--onnx", onnx, "--weights", weights);

        Assert.True(code == 0, stderr);
        Assert.Contains($"wrote {weights} (", stdout);
        Assert.InRange(new FileInfo(weights).Length, 1, new FileInfo(checkpoint).Length / 2);  // no Adam moments
        using var alone = UNetModel.Load(weights);
        Assert.Equal(model.Options, alone.Options);
        var expected = model.state_dict();
        foreach (var (name, value) in alone.state_dict())
            Assert.True(value.equal(expected[name]).all().item<bool>(), name);
        AssertOnnxRuntimeMatches(onnx, alone);

        (code, stdout, stderr) = CliProcess.RunSplit(null, "export", "--checkpoint", checkpoint, "--onnx", onnx, "--weights", onnx);
        AssertOneErrorLine(code, stdout, stderr, "--weights", "must differ from --onnx and --checkpoint");
    }

    [Fact]
    public void NotACheckpoint_IsOneErrorLine_AndTheOutputFileStaysAsItWas()
    {
        string bogus = Path.Combine(_dir, "bogus.safetensors");
        File.WriteAllText(bogus, "not a checkpoint");
        string onnx = Path.Combine(_dir, "keep.onnx");
        File.WriteAllText(onnx, "an earlier export");

        var (code, stdout, stderr) = CliProcess.RunSplit(null, "export", "--checkpoint", bogus, "--onnx", onnx);

        AssertOneErrorLine(code, stdout, stderr, bogus, "is not a valid safetensors file");
        Assert.Equal("an earlier export", File.ReadAllText(onnx));
        Assert.Equal(["bogus.safetensors", "keep.onnx"], Directory.GetFiles(_dir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void MissingOrUnusablePaths_AndABadOpset_AreOneErrorLineEach()
    {
        string missing = Path.Combine(_dir, "no-such.safetensors");
        string onnx = Path.Combine(_dir, "m.onnx");
        var (code, stdout, stderr) = CliProcess.RunSplit(null, "export", "--checkpoint", missing, "--onnx", onnx);
        AssertOneErrorLine(code, stdout, stderr, $"--checkpoint {missing} does not exist");

        (code, stdout, stderr) = CliProcess.RunSplit(null, "export", "--onnx", onnx);
        AssertOneErrorLine(code, stdout, stderr, "--checkpoint FILE is required");

        string checkpoint = Path.Combine(_dir, "model.safetensors");
        using (var model = new UNetModel(Small)) model.Save(checkpoint);
        (code, stdout, stderr) = CliProcess.RunSplit(null, "export", "--checkpoint", checkpoint);
        AssertOneErrorLine(code, stdout, stderr, "--onnx FILE is required");

        string unwritable = Path.Combine(_dir, "no-such-folder", "m.onnx");
        (code, stdout, stderr) = CliProcess.RunSplit(null, "export", "--checkpoint", checkpoint, "--onnx", unwritable);
        AssertOneErrorLine(code, stdout, stderr, $"--onnx {unwritable}: the folder {Path.Combine(_dir, "no-such-folder")} does not exist");

        (code, stdout, stderr) = CliProcess.RunSplit(null, "export", "--checkpoint", checkpoint, "--onnx", _dir);
        AssertOneErrorLine(code, stdout, stderr, $"--onnx {_dir} is a folder");

        (code, stdout, stderr) = CliProcess.RunSplit(null, "export", "--checkpoint", checkpoint, "--onnx", onnx, "--opset", "16");
        AssertOneErrorLine(code, stdout, stderr, "--opset must lie in 17..26 (got 16)");
        Assert.False(File.Exists(onnx));
    }

    /// <summary>A 3-page 8-bit TIFF stack of noisy structure (or constant pages).</summary>
    private string CalibrationStack(bool constant = false)
    {
        var pages = new byte[3 * 40 * 50];
        var random = new Random(3);
        for (int i = 0; i < pages.Length; i++) pages[i] = constant ? (byte)90 : (byte)(128 + 100 * Math.Sin(i * 0.05) * random.NextDouble());
        string path = Path.Combine(_dir, constant ? "blank.tif" : "calibration.tif");
        UNet.Segmentation.Imaging.Tiff.Write(path, new UNet.Segmentation.Imaging.TiffVolume(3, 40, 50, pages));
        return path;
    }

    [Fact]
    public void WithInt8_TheFileIsQuantizedOnTheCalibrationImages_AndASecondLineSaysHow()
    {
        manual_seed(6);
        using var model = new UNetModel(Small);
        string checkpoint = Path.Combine(_dir, "model.safetensors");
        model.Save(checkpoint);
        string onnx = Path.Combine(_dir, "int8.onnx");

        var (code, stdout, stderr) = CliProcess.RunSplit(null, "export", "--checkpoint", checkpoint, "--onnx", onnx,
            "--int8", "--calibration", CalibrationStack(), "--calibration-images", "2", "--calibration-method", "MinMax");

        Assert.True(code == 0, stderr);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith($"wrote {onnx} (", lines[0]);
        Assert.Matches(@"^int8 \(QDQ\): 12 int8 convolutions, float32: output_block.conv3; min-max calibration on 2 image\(s\) \(calibration.tif\[0\], calibration.tif\[2\]\), SHA-256 [0-9a-f]{12}$", lines[1]);
        using var session = new InferenceSession(onnx);
        string metadata = session.ModelMetadata.CustomMetadataMap["unet_quantization"];
        Assert.Contains("\"Method\":\"MinMax\"", metadata);
        Assert.Contains("\"ImageNames\":[\"calibration.tif[0]\",\"calibration.tif[2]\"]", metadata);
    }

    [Fact]
    public void Int8FlagsThatDoNotFit_AreOneErrorLineEach_AndNothingIsWritten()
    {
        string checkpoint = Path.Combine(_dir, "model.safetensors");
        using (var model = new UNetModel(Small)) model.Save(checkpoint);
        string onnx = Path.Combine(_dir, "m.onnx"), stack = CalibrationStack();

        var (code, stdout, stderr) = CliProcess.RunSplit(null, "export", "--checkpoint", checkpoint, "--onnx", onnx, "--int8");
        AssertOneErrorLine(code, stdout, stderr, "--int8 needs --calibration DATA");

        (code, stdout, stderr) = CliProcess.RunSplit(null, "export", "--checkpoint", checkpoint, "--onnx", onnx, "--calibration", stack);
        AssertOneErrorLine(code, stdout, stderr, "--calibration, --calibration-images and --calibration-method go with --int8");

        (code, stdout, stderr) = CliProcess.RunSplit(null, "export", "--checkpoint", checkpoint, "--onnx", onnx, "--int8", "--calibration", stack, "--calibration-method", "entropy");
        AssertOneErrorLine(code, stdout, stderr, "--calibration-method must be minmax or percentile (got 'entropy')");

        (code, stdout, stderr) = CliProcess.RunSplit(null, "export", "--checkpoint", checkpoint, "--onnx", onnx, "--int8", "--calibration", stack, "--calibration-images", "0");
        AssertOneErrorLine(code, stdout, stderr, "--calibration-images must be at least 1 (got 0)");

        string missing = Path.Combine(_dir, "no-such-data");
        (code, stdout, stderr) = CliProcess.RunSplit(null, "export", "--checkpoint", checkpoint, "--onnx", onnx, "--int8", "--calibration", missing);
        AssertOneErrorLine(code, stdout, stderr, $"--calibration {missing}: calibration data '{missing}' does not exist");

        (code, stdout, stderr) = CliProcess.RunSplit(null, "export", "--checkpoint", checkpoint, "--onnx", onnx, "--int8", "--calibration", CalibrationStack(constant: true));
        AssertOneErrorLine(code, stdout, stderr, "--calibration: calibration image 'blank.tif[0]' is constant");
        Assert.False(File.Exists(onnx));
    }
}
