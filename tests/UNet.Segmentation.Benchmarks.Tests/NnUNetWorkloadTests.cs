using System.Text.Json;
using UNet.Segmentation.Benchmarks.SideBySide;
using UNet.Segmentation.Benchmarks.Workloads;
using UNet.Segmentation.Model;
using UNet.Segmentation.Model.NnUNet;
using UNet.Segmentation.Tests.Shared;
using UNet.Segmentation.Training;

namespace UNet.Segmentation.Benchmarks.Tests;

/// <summary>
/// The 3-D side of the side-by-side, ours: the nnU-Net workload at a 32³ patch with 4 filters
/// trains, infers and leaks nothing per step; at 128³ with 32 filters it is the BraTS network;
/// <c>nnunet-step</c> prints what run.py reads and refuses what it cannot run; <c>conv-rate --dims 3</c>
/// measures the nnU-Net's convolution shapes. No timing is asserted beyond being positive.
/// </summary>
[Collection("LiveTensors")] // tensor counts are process-wide: classes that make tensors run one at a time
public class NnUNetWorkloadTests
{
    private const int Filters = 4, Size = 32;

    [Fact]
    public void ThePlanAt128WithBaseFilters32_IsTheBraTSConfiguration() =>
        Assert.Equal(NnUNetOptions.BraTS3D.ToJson(), NnUNetWorkload.PlanFor(128, 32).ToJson());

    [Theory]
    [InlineData(Precision.Float32)]
    [InlineData(Precision.BFloat16)]
    public void TrainingSteps_LowerTheLossOnTheirFixedBatch(Precision precision)
    {
        using var workload = new NnUNetWorkload(training: true, batchSize: 1, precision, Filters, Size);
        double first = workload.TrainStep(), last = first;
        for (int i = 0; i < 10; i++) last = workload.TrainStep();
        Assert.True(double.IsFinite(first) && double.IsFinite(last), $"losses {first}, {last}");
        Assert.True(last < first, $"the loss went from {first} to {last}");
    }

    [Theory]
    [InlineData(Precision.Float32)]
    [InlineData(Precision.BFloat16)]
    public void InferenceStep_SumsOneProbabilityPerVoxel(Precision precision)
    {
        using var workload = new NnUNetWorkload(training: false, batchSize: 2, precision, Filters, Size);
        double expected = 2.0 * Size * Size * Size;
        Assert.Equal(expected, workload.InferStep(), expected * 1e-3);
    }

    [Fact]
    public void MoreSteps_LeaveNoMoreTensors()
    {
        using var workload = new NnUNetWorkload(training: true, batchSize: 1, Precision.BFloat16, Filters, Size);
        workload.TrainStep();
        long after1 = LiveTensors.SettledCount();
        for (int i = 0; i < 3; i++) workload.TrainStep();
        Assert.Equal(after1, LiveTensors.SettledCount());
        workload.InferStep();
        Assert.Equal(after1, LiveTensors.SettledCount());
    }

    [Theory]
    [InlineData("train", "fp32")]
    [InlineData("infer", "bf16")]
    public void NnUNetStep_PrintsWhatRunPyReads(string mode, string precision)
    {
        var (code, json, errors) = Run("nnunet-step", "--mode", mode, "--precision", precision, "--filters", $"{Filters}", "--size", $"{Size}", "--warmup", "0", "--steps", "1");
        Assert.True(code == 0, errors);
        var r = json!.Value;
        foreach (var key in new[] { "impl", "version", "mode", "batch", "precision", "device", "format", "threads", "step_seconds", "images_per_second", "peak_rss_mib", "flops_per_image", "parameters" })
            Assert.True(r.TryGetProperty(key, out _), $"no {key} in {r}");
        Assert.Equal(("ours", "nnunet", mode, precision, "contiguous"),
            (r.GetProperty("impl").GetString(), r.GetProperty("model").GetString(), r.GetProperty("mode").GetString(), r.GetProperty("precision").GetString(), r.GetProperty("format").GetString()));
        var plan = NnUNetWorkload.PlanFor(Size, Filters);
        using (var model = new NnUNetModel(plan)) Assert.Equal(model.ParameterCount, r.GetProperty("parameters").GetInt64());
        int[] patch = [Size, Size, Size];
        Assert.Equal(mode == "train" ? FlopCount.TrainingStep(plan, patch) : FlopCount.Forward(plan, patch), r.GetProperty("flops_per_image").GetDouble());
        Assert.True(r.GetProperty("images_per_second").GetDouble() > 0);
    }

    [Fact]
    public void NnUNetStep_DefaultsToTheBraTSPatch_AndRefusesWhatItCannotRun()
    {
        var defaults = StepOptions.Parse([.. NnUNetStepCommand.Defaults]);
        Assert.Equal((32, 128), (defaults.Filters, defaults.Size));
        var (code, json, errors) = Run("nnunet-step", "--format", "channels-last");
        Assert.Equal(2, code);
        Assert.Null(json);
        Assert.Contains("--format channels-last", errors, StringComparison.Ordinal);
        (code, _, errors) = Run("nnunet-step", "--size", "36"); // halved 3 times: total stride 8
        Assert.Equal(2, code);
        Assert.Contains("--size 36", errors, StringComparison.Ordinal);
    }

    [Fact]
    public void ConvRate3D_MeasuresTheNnUNetsShapes()
    {
        var (code, json, errors) = Run("conv-rate", "--dims", "3", "--warmup", "0", "--steps", "1");
        Assert.True(code == 0, errors);
        var r = json!.Value;
        Assert.Equal(3, r.GetProperty("dims").GetInt32());
        Assert.Equal(["32x128", "64x64", "128x32", "256x16", "320x8"], r.GetProperty("gflops_by_shape").EnumerateObject().Select(p => p.Name));
        Assert.True(r.GetProperty("gflops").GetDouble() > 0);
        var e = Assert.Throws<ArgumentException>(() => StepOptions.Parse(["--dims", "3", "--format", "channels-last"]));
        Assert.Equal("--format", e.ParamName);
    }

    private static (int Code, JsonElement? Json, string Errors) Run(string command, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = StepCommand.Run(command, args, stdout, stderr);
        string line = stdout.ToString().Trim();
        return (code, line.Length == 0 ? null : JsonDocument.Parse(line).RootElement.Clone(), stderr.ToString());
    }
}
