using System.Diagnostics;
using System.Text.Json;
using UNet.Segmentation.Benchmarks.Workloads;
using UNet.Segmentation.Model.NnUNet;
using UNet.Segmentation.Tests.Shared;
using static TorchSharp.torch;

namespace UNet.Segmentation.Benchmarks.Tests;

/// <summary>
/// The other two runners of run.py <c>--model nnunet</c> build the network ours builds: plain
/// TorchSharp's nnU-Net (benchmarks/side-by-side/PlainTorchSharp) has the library's parameter
/// shapes for the BraTS plan and a small one, and both it and the PyTorch peer
/// (benchmarks/side-by-side/peer_nnunet_step.py) run one step at 32³ and print valid JSON with
/// ours' parameter count.
/// </summary>
[Collection("LiveTensors")]
public class NnUNetRunnersTests
{
    [Theory]
    [InlineData(128, 32)] // BraTS: 31,193,644 parameters
    [InlineData(32, 4)]
    public void PlainTorchSharpsNnUNet_HasTheLibrarysParameterShapes(int size, int filters)
    {
        using var ours = new NnUNetModel(NnUNetWorkload.PlanFor(size, filters));
        using var plain = new PlainTorchSharp.NnUNet(size, filters, NnUNetWorkload.InputChannels, NnUNetWorkload.Classes);
        static string[] Shapes(TorchSharp.torch.nn.Module m) =>
            m.parameters().Select(p => string.Join("x", p.shape)).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(ours.ParameterCount, plain.parameters().Sum(p => p.numel()));
        Assert.Equal(Shapes(ours), Shapes(plain));
    }

    [Theory]
    [InlineData("train")]
    [InlineData("infer")]
    public void PlainTorchSharp_RunsOneStepOfTheSmallNnUNet(string mode)
    {
        var o = PlainTorchSharp.Options.Parse(["--model", "nnunet", "--mode", mode, "--size", "32", "--filters", "4", "--warmup", "0", "--steps", "1", "--threads", "2"]);
        var r = JsonDocument.Parse(JsonSerializer.Serialize(PlainTorchSharp.NnUNetSteps.Run(o, CPU))).RootElement;
        Assert.Equal(OursParameters(32, 4), r.GetProperty("parameters").GetInt64());
        Assert.Equal(mode, r.GetProperty("mode").GetString());
        Assert.True(r.GetProperty("images_per_second").GetDouble() > 0);
        var defaults = PlainTorchSharp.Options.Parse(["--model", "nnunet", "--mode", mode]);
        Assert.Equal((32, 128), (defaults.Filters, defaults.Size));
    }

    [Theory]
    [InlineData("train", "bf16")]
    [InlineData("infer", "fp32")]
    public async Task ThePyTorchPeer_RunsOneStepOfTheSmallNnUNet(string mode, string precision)
    {
        Requirement.SkipWhen(!File.Exists(Python), $"no {Python} (the PyTorch peer)", Requirement.Peer);
        string script = Path.Combine(RepoRoot(), "benchmarks", "side-by-side", "peer_nnunet_step.py");
        var start = new ProcessStartInfo(Python, [script, "--mode", mode, "--precision", precision, "--size", "32", "--filters", "4", "--warmup", "0", "--steps", "1", "--threads", "2"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var token = TestContext.Current.CancellationToken;
        var stderr = process.StandardError.ReadToEndAsync(token);
        string stdout = await process.StandardOutput.ReadToEndAsync(token);
        await process.WaitForExitAsync(token);
        Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}: {await stderr}");
        var r = JsonDocument.Parse(stdout.Trim().Split('\n')[^1]).RootElement;
        Assert.Equal(("pytorch", "nnunet", mode, precision), (r.GetProperty("impl").GetString(), r.GetProperty("model").GetString(), r.GetProperty("mode").GetString(), r.GetProperty("precision").GetString()));
        Assert.Equal(OursParameters(32, 4), r.GetProperty("parameters").GetInt64());
        Assert.True(r.GetProperty("images_per_second").GetDouble() > 0);
    }

    private const string Python = "/usr/bin/python3";

    private static long OursParameters(int size, int filters)
    {
        using var model = new NnUNetModel(NnUNetWorkload.PlanFor(size, filters));
        return model.ParameterCount;
    }

    private static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "UNet.Segmentation.sln"))) return d.FullName;
        throw new DirectoryNotFoundException($"no UNet.Segmentation.sln above {AppContext.BaseDirectory}");
    }
}
