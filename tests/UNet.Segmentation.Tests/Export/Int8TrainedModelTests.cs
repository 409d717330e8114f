using System.Globalization;
using System.Text.Json;
using UNet.Segmentation.Data;
using UNet.Segmentation.Export;
using UNet.Segmentation.Inference;
using UNet.Segmentation.Model;
using UNet.Segmentation.Onnx;
using UNet.Segmentation.Tests.Imaging;
using UNet.Segmentation.Tests.Shared;
using UNet.Segmentation.Training;
using static TorchSharp.torch;

namespace UNet.Segmentation.Tests.Export;

/// <summary>
/// A reference-shaped 16-filter U-Net (the cpu-fast recipe's width) trained for a few dozen steps
/// on synthetic EM slices, exported as float32 and as int8 calibrated on four of its training
/// slices: what the int8 tests of a trained network share.
/// </summary>
public sealed class SyntheticTrainedInt8Model : IDisposable
{
    private readonly TempDir _dir = new();

    /// <summary>Training slices 0..5, held-out 6..9.</summary>
    public static readonly int[] Training = [0, 1, 2, 3, 4, 5], HeldOut = [6, 7, 8, 9];

    public SyntheticTrainedInt8Model()
    {
        Data = IsbiDataset.Synthetic(new SyntheticEmOptions { Slices = 10, Size = 160, MeanCellDiameter = 24, Seed = 5 });
        // 252 is the smallest valid input of depth 4 with a useful output (68²): the same network as the reference's 572, cheaper to train.
        Options = UNetOptions.Reference with { BaseFilters = 16, InputSize = 252 };
        manual_seed(8);
        using var model = new UNetModel(Options);
        using (var trainer = Trainer.For(model).WithSteps(40, batchSize: 2).WithAdam(1e-3).Build())
            trainer.Fit(Data, new FoldSplit(0, Training, HeldOut), cancellation: TestContext.Current.CancellationToken);
        FloatPath = _dir.File("float.onnx");
        Int8Path = _dir.File("int8.onnx");
        OnnxExport.Save(model, FloatPath);
        var calibration = Training.Take(4).Select(s => CalibrationImage.FromGrayBytes($"synthetic[{s}]", Slice(s), Data.Height, Data.Width)).ToList();
        Result = OnnxExport.Save(model, Int8Path, new OnnxExportOptions { Int8 = new Int8Quantization { Calibration = calibration } });
    }

    public IsbiDataset Data { get; }

    public UNetOptions Options { get; }

    public string FloatPath { get; }

    public string Int8Path { get; }

    public OnnxExportResult Result { get; }

    public string Folder => _dir.Path;

    public ReadOnlySpan<byte> Slice(int s) => Data.TrainImages.Span.Slice(s * Data.Height * Data.Width, Data.Height * Data.Width);

    public void Dispose() => _dir.Dispose();
}

/// <summary>
/// The int8 export of a trained network: its masks agree with the float export's on held-out
/// slices, ONNX Runtime runs its convolutions, the up-convolutions included, as int8 kernels
/// (QLinearConv) and its up-sampling's DepthToSpace on uint8, and ONNX's own
/// checker (Debian python3-onnx) accepts the files.
/// </summary>
[Collection("LiveTensors")]
public sealed class Int8TrainedModelTests(SyntheticTrainedInt8Model trained, ITestOutputHelper output) : IClassFixture<SyntheticTrainedInt8Model>
{
    [Fact]
    public void TheInt8Masks_AgreeWithTheFloatMasks_OnAtLeast99_5PercentOfHeldOutPixels()
    {
        using var f32 = OnnxPredictor.Load(trained.FloatPath, OnnxPredictorOptions.Reference with { Threads = 2 });
        using var int8 = OnnxPredictor.Load(trained.Int8Path, OnnxPredictorOptions.Reference with { Threads = 2 });
        long same = 0, total = 0, interior = 0;
        double maxDifference = 0;
        foreach (int s in SyntheticTrainedInt8Model.HeldOut)
        {
            var p = f32.PredictSlice(trained.Slice(s), trained.Data.Height, trained.Data.Width);
            var q = int8.PredictSlice(trained.Slice(s), trained.Data.Height, trained.Data.Width);
            for (int i = 0; i < p.Length; i++)
            {
                if (p[i] > 0.5f == q[i] > 0.5f) same++;
                if (p[i] > 0.5f) interior++;
                maxDifference = Math.Max(maxDifference, Math.Abs(p[i] - q[i]));
            }
            total += p.Length;
        }
        double agreement = same / (double)total, share = interior / (double)total;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"masks agree on {agreement:P3} of {total} held-out pixels; float interior share {share:P1}; max |Δp| {maxDifference:F3}"));
        // A network that had learnt nothing would give one class everywhere and agree trivially.
        Assert.InRange(share, 0.2, 0.95);
        Vnni.RequireForAccuracy(string.Create(CultureInfo.InvariantCulture, $"agreement {agreement:P3}"));
        Assert.True(agreement >= 0.995, $"the int8 masks agree with the float masks on {agreement:P3} of the held-out pixels");
    }

    [Fact]
    public void OnnxRuntime_RunsEveryQuantizedConvolution_AsAnInt8Kernel()
    {
        var report = trained.Result.Quantization!;
        int size = trained.Options.InputSize;
        var input = new float[size * size];
        for (int i = 0; i < input.Length; i++) input[i] = (float)Math.Sin(i * 0.01);
        var nodes = Int8TestSupport.Profile(trained.Int8Path, input, [1, 1, size, size], Path.Combine(trained.Folder, "int8-profile"));
        var profiled = Int8TestSupport.Count(nodes);
        var optimized = Int8TestSupport.OptimizedOperators(trained.Int8Path, Path.Combine(trained.Folder, "int8-optimized.onnx"));
        var floatProfile = Int8TestSupport.ProfiledOperators(trained.FloatPath, input, [1, 1, size, size], Path.Combine(trained.Folder, "float-profile"));
        output.WriteLine($"int8 file, ONNX Runtime's profile: {Int8TestSupport.Describe(profiled)}");
        output.WriteLine($"int8 file, ONNX Runtime's optimized graph: {Int8TestSupport.Describe(optimized)}");
        output.WriteLine($"float file, ONNX Runtime's profile: {Int8TestSupport.Describe(floatProfile)}");
        foreach (var n in nodes.Where(n => n.Op is "DepthToSpace" or "Transpose" or "DequantizeLinear" or "QuantizeLinear"))
            output.WriteLine($"  {n.Op} {n.Name} ({string.Join(", ", n.InputTypes)})");

        int upconvs = report.Int8Layers.Count(l => l.EndsWith(".upconv", StringComparison.Ordinal));
        Assert.Equal(trained.Options.Depth, upconvs);
        Assert.Equal(18 + upconvs, report.Int8Layers.Count);
        // Every 3×3 convolution and every up-convolution's sub-pixel convolution runs as
        // QLinearConv on uint8 activations and int8 weights ...
        Assert.Equal(report.Int8Layers.Count, profiled.GetValueOrDefault("QLinearConv"));
        // ... no transposed convolution is left in float32, the only float convolution is the last 1×1 (kept float32 by design) ...
        Assert.False(profiled.ContainsKey("ConvTranspose"), "a ConvTranspose ran");
        Assert.Equal(1, profiled.GetValueOrDefault("Conv") + profiled.GetValueOrDefault("FusedConv"));
        // ... the up-sampling's DepthToSpace moves uint8 values ...
        var depthToSpace = nodes.Where(n => n.Op == "DepthToSpace").ToList();
        Assert.Equal(upconvs, depthToSpace.Count);
        Assert.All(depthToSpace, n => Assert.Equal("uint8", n.InputTypes[0]));
        // ... and the skip concatenations and the poolings stay in uint8.
        Assert.Equal(trained.Options.Depth, profiled.GetValueOrDefault("QLinearConcat"));
        Assert.Equal(trained.Options.Depth, profiled.GetValueOrDefault("MaxPool") + profiled.GetValueOrDefault("NhwcMaxPool"));
        // The float file runs no quantized operator.
        Assert.DoesNotContain(floatProfile.Keys, k => k.StartsWith("QLinear", StringComparison.Ordinal) || k.Contains("Quantize", StringComparison.Ordinal));
    }

    [Fact]
    public void OnnxsChecker_AcceptsTheInt8AndTheFloatFile_AndReadsTheSameMetadata()
    {
        OnnxChecker.Require();
        var files = OnnxChecker.Check([trained.Int8Path, trained.FloatPath]);
        var int8 = files[0];
        output.WriteLine(int8.ToString());
        Assert.Equal(17, int8.GetProperty("opset").GetInt32());
        Assert.Equal(8, int8.GetProperty("ir_version").GetInt32());
        var metadata = int8.GetProperty("metadata");
        using var predictor = OnnxPredictor.Load(trained.Int8Path);
        Assert.Equal(predictor.Info.Quantization!.Json, metadata.GetProperty("unet_quantization").GetString());
        Assert.Equal(predictor.Info.OptionsJson, metadata.GetProperty("unet_options").GetString());
        var operators = int8.GetProperty("operators");
        Assert.True(operators.GetProperty("QuantizeLinear").GetInt32() > 0);
        Assert.True(operators.GetProperty("DequantizeLinear").GetInt32() > 0);
        Assert.False(files[1].GetProperty("metadata").TryGetProperty("unet_quantization", out _));
    }
}

/// <summary>
/// ONNX's checker (Debian python3-onnx, run by /usr/bin/python3) through tests/peer/onnx_checker.py:
/// <c>onnx.checker.check_model(path, full_check=True)</c> and what onnx reads of each file. A test
/// that needs it starts with <see cref="Require"/>: without python3-onnx it is skipped with the
/// reason, or fails when <c>UNET_REQUIRE_ORACLES=1</c>.
/// </summary>
internal static class OnnxChecker
{
    private static readonly Lazy<string?> Problem = new(Probe);

    public static string Script { get; } = Path.Combine(AppContext.BaseDirectory, "peer", "onnx_checker.py");

    public static void Require()
    {
        if (Problem.Value is { } problem) Requirement.Skip($"oracle unavailable: {problem}", Requirement.Oracles);
    }

    /// <summary>Checks every file (a failed check fails the test with onnx's message) and returns what onnx read of each.</summary>
    public static JsonElement[] Check(IEnumerable<string> files)
    {
        var result = ExternalTools.RunOk(ExternalTools.Python, [Script, .. files]);
        using var document = JsonDocument.Parse(result.Stdout);
        return document.RootElement.EnumerateArray().Select(e => e.Clone()).ToArray();
    }

    private static string? Probe()
    {
        if (!File.Exists(ExternalTools.Python)) return $"{ExternalTools.Python} not found (Debian python3 with python3-onnx)";
        try
        {
            var result = ExternalTools.Run(ExternalTools.Python, Script, "--check");
            return result.ExitCode == 0 ? null : $"{ExternalTools.Python} cannot import onnx (Debian python3-onnx; scripts/setup.sh installs it): {result.Stderr.Trim()}";
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException or TimeoutException)
        {
            return $"{ExternalTools.Python} could not run: {e.Message}";
        }
    }
}
