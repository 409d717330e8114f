using UNet.Segmentation.Model;
using System.Text.Json;
using UNet.Segmentation.Benchmarks.SideBySide;
using static TorchSharp.torch;

namespace UNet.Segmentation.Benchmarks.Tests;

/// <summary>
/// The worker commands' JSON lines: the keys benchmarks/side-by-side/run.py reads from <c>step</c>
/// and <c>conv-rate</c>, and the <c>upconv</c> comparison (run at 1/64 of the reference's
/// channels) with its arguments. No timing is asserted beyond being positive.
/// </summary>
[Collection("LiveTensors")] // tensor counts are process-wide: classes that make tensors run one at a time
public class WorkerCommandTests
{
    private static (int Code, JsonElement? Json, string Errors) Run(string command, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = StepCommand.Run(command, args, stdout, stderr);
        string line = stdout.ToString().Trim();
        return (code, line.Length == 0 ? null : JsonDocument.Parse(line).RootElement.Clone(), stderr.ToString());
    }

    [Fact]
    public void Upconv_TimesBothFormsAtTheFourShapes_AndTheyAgree()
    {
        var (code, json, errors) = Run("upconv", "--filters", "1", "--warmup", "0", "--steps", "1");
        Assert.True(code == 0, errors);
        var r = json!.Value;
        Assert.Equal("upconv", r.GetProperty("command").GetString());
        Assert.Equal("cpu", r.GetProperty("device").GetString());
        Assert.Equal("fp32", r.GetProperty("precision").GetString());
        var shapes = r.GetProperty("shapes").EnumerateArray().ToList();
        Assert.Equal([16, 8, 4, 2], shapes.Select(s => s.GetProperty("in_channels").GetInt32()));
        Assert.Equal([8, 4, 2, 1], shapes.Select(s => s.GetProperty("out_channels").GetInt32()));
        Assert.Equal([28, 52, 100, 196], shapes.Select(s => s.GetProperty("size").GetInt32()));
        foreach (var key in new[] { "conv_transpose_ms", "subpixel_ms" })
        {
            var ms = r.GetProperty(key).EnumerateArray().Select(e => e.GetDouble()).ToList();
            Assert.Equal(4, ms.Count);
            Assert.All(ms, t => Assert.True(t > 0, $"{key} {t}"));
        }
        double diff = r.GetProperty("max_abs_diff").GetDouble();
        Assert.InRange(diff, 0, 1e-4);
        Assert.All(shapes, s => Assert.InRange(s.GetProperty("max_abs_diff_gradients").GetDouble(), 0, 1e-2));
    }

    [Fact]
    public void UpconvFlags_SetEveryField_AndBadOnesAreNamed()
    {
        var o = UpconvOptions.Parse(["--filters", "2", "--warmup", "0", "--steps", "7", "--threads", "3", "--device", "cpu"]);
        Assert.Equal((2, 0, 7, 3, "cpu"), (o.Filters, o.Warmup, o.Steps, o.Threads, o.Device.ToString()));
        var d = UpconvOptions.Parse([]);
        Assert.Equal((64, 1, 5), (d.Filters, d.Warmup, d.Steps));
        var e = Assert.Throws<ArgumentException>(() => UpconvOptions.Parse(["--batch", "2"])); // upconv is batch 1 only
        Assert.Equal("--batch", e.ParamName);
        Assert.Contains("unknown flag", e.Message, StringComparison.Ordinal);
        var (code, json, errors) = Run("upconv", "--filters", "0");
        Assert.Equal(2, code);
        Assert.Null(json);
        Assert.Contains("--filters 0: expected a positive integer", errors, StringComparison.Ordinal);
    }

    [Fact]
    public void TheSubPixelForm_MatchesTheTransposedConvolution_OnATinyInput()
    {
        using var scope = NewDisposeScope();
        manual_seed(1);
        var x = randn([2, 3, 5, 4]);
        var w = randn([3, 2, 3, 3]);
        var b = randn([2]);
        var plain = UpconvForms.ConvTranspose(x, w, b);
        var sub = UpconvForms.SubPixel(x, w, b);
        Assert.Equal([2L, 2, 10, 8], sub.shape);
        Assert.Equal(plain.shape, sub.shape);
        Assert.True(plain.allclose(sub, rtol: 1e-5, atol: 1e-5), $"max difference {(plain - sub).abs().max().item<float>()}");
    }

    [Fact]
    public void Step_PrintsWhatRunPyReads()
    {
        var (code, json, errors) = Run("step", "--filters", "4", "--size", "188", "--warmup", "0", "--steps", "1", "--mode", "infer");
        Assert.True(code == 0, errors);
        var r = json!.Value;
        foreach (var key in new[] { "impl", "version", "mode", "batch", "precision", "device", "format", "threads", "step_seconds", "images_per_second", "peak_rss_mib", "flops_per_image" })
            Assert.True(r.TryGetProperty(key, out _), $"no {key} in {r}");
        Assert.Equal(("ours", "infer", "fp32", "contiguous"), (r.GetProperty("impl").GetString(), r.GetProperty("mode").GetString(), r.GetProperty("precision").GetString(), r.GetProperty("format").GetString()));
        Assert.True(r.GetProperty("images_per_second").GetDouble() > 0);
    }

    [Fact]
    public void ConvRate_PrintsGflops()
    {
        var (code, json, errors) = Run("conv-rate", "--precision", "bf16", "--format", "channels-last", "--warmup", "0", "--steps", "1");
        Assert.True(code == 0, errors);
        Assert.Equal("conv", json!.Value.GetProperty("mode").GetString());
        Assert.True(json.Value.GetProperty("gflops").GetDouble() > 0);
    }

    [Fact]
    public void Step_WithPhases_TimesForwardBackwardAndOptimizer_AndGivesTheForwardsFlops()
    {
        var (code, json, errors) = Run("step", "--filters", "4", "--size", "188", "--warmup", "0", "--steps", "2", "--precision", "bf16", "--phases", "1");
        Assert.True(code == 0, errors);
        var r = json!.Value;
        var phases = r.GetProperty("phase_seconds");
        foreach (var key in new[] { "forward_and_loss", "backward", "optimizer" })
            Assert.True(phases.GetProperty(key).GetDouble() > 0, $"{key} in {phases}");
        double forward = r.GetProperty("forward_flops_per_image").GetDouble(), step = r.GetProperty("flops_per_image").GetDouble();
        Assert.Equal(FlopCount.Forward(UNetOptions.Reference with { BaseFilters = 4, InputSize = 188 }, 188), forward);
        Assert.InRange(forward, step / 4, step / 2);   // a training step is about 3 forwards' FLOPs
    }

    [Fact]
    public void ConvRate_OfTheBackward_SaysSo()
    {
        var (code, json, errors) = Run("conv-rate", "--precision", "bf16", "--pass", "backward", "--warmup", "0", "--steps", "1");
        Assert.True(code == 0, errors);
        Assert.Equal("conv-backward", json!.Value.GetProperty("mode").GetString());
        Assert.True(json.Value.GetProperty("gflops").GetDouble() > 0);
    }

    [Fact]
    public void AnUnknownCommand_IsRefused()
    {
        var (code, _, errors) = Run("warp");
        Assert.Equal(2, code);
        Assert.Contains("unknown command warp", errors, StringComparison.Ordinal);
    }
}
