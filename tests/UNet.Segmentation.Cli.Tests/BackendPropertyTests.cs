using System.Diagnostics;
using System.Text.Json;

namespace UNet.Segmentation.Cli.Tests;

/// <summary>
/// The UNetBackend property (Directory.Build.props/targets) picks each app's native engine
/// packages; the libraries reference managed packages only. Read from MSBuild's own evaluation
/// (<c>dotnet msbuild -getItem:PackageReference</c>), so no CUDA package needs to be served here.
/// </summary>
public sealed class BackendPropertyTests
{
    private static readonly string[] Natives = ["TorchSharp-cpu", "TorchSharp-cuda-linux", "TorchSharp-cuda-windows",
        "Microsoft.ML.OnnxRuntime", "Microsoft.ML.OnnxRuntime.Gpu.Linux", "Microsoft.ML.OnnxRuntime.Gpu.Windows"];

    private static (int Code, string Output) Msbuild(string project, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = CliProcess.RepositoryRoot() };
        foreach (var a in (string[])["msbuild", project, "-nologo", .. args]) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd() + stderr.Result;
        process.WaitForExit();
        return (process.ExitCode, output);
    }

    private static HashSet<string> PackageReferences(string project, string? backend)
    {
        var (code, output) = backend is null ? Msbuild(project, "-getItem:PackageReference") : Msbuild(project, "-getItem:PackageReference", $"-p:UNetBackend={backend}");
        Assert.True(code == 0, output);
        var items = JsonDocument.Parse(output).RootElement.GetProperty("Items").GetProperty("PackageReference");
        return items.EnumerateArray().Select(i => i.GetProperty("Identity").GetString()!).ToHashSet();
    }

    [Theory]
    [InlineData(null, "TorchSharp-cpu", "Microsoft.ML.OnnxRuntime")]
    [InlineData("cpu", "TorchSharp-cpu", "Microsoft.ML.OnnxRuntime")]
    [InlineData("cuda-linux", "TorchSharp-cuda-linux", "Microsoft.ML.OnnxRuntime.Gpu.Linux")]
    [InlineData("cuda-windows", "TorchSharp-cuda-windows", "Microsoft.ML.OnnxRuntime.Gpu.Windows")]
    public void TheBackendPicksOneTorchSharpAndOneOnnxRuntimePackage_ForEveryApp(string? backend, string torch, string onnx)
    {
        foreach (string app in (string[])["samples/UNet.Segmentation.Cli/UNet.Segmentation.Cli.csproj", "benchmarks/UNet.Segmentation.Benchmarks/UNet.Segmentation.Benchmarks.csproj", "tests/UNet.Segmentation.Tests/UNet.Segmentation.Tests.csproj"])
        {
            var references = PackageReferences(app, backend);
            Assert.Equal([onnx, torch], references.Intersect(Natives).Order(StringComparer.Ordinal));
        }
    }

    [Theory]
    [InlineData("cpu")]
    [InlineData("cuda-linux")]
    public void TheLibrariesReferenceNoNativeEnginePackage(string backend)
    {
        Assert.Empty(PackageReferences("src/UNet.Segmentation/UNet.Segmentation.csproj", backend).Intersect(Natives));
        Assert.Empty(PackageReferences("src/UNet.Segmentation.Core/UNet.Segmentation.Core.csproj", backend).Intersect(Natives));
        var onnx = PackageReferences("src/UNet.Segmentation.Onnx/UNet.Segmentation.Onnx.csproj", backend);
        Assert.Empty(onnx.Intersect(Natives));
        Assert.Contains("Microsoft.ML.OnnxRuntime.Managed", onnx);
    }

    [Fact]
    public void AnUnknownBackend_StopsTheBuildWithOneLineNamingTheChoices()
    {
        var (code, output) = Msbuild("samples/UNet.Segmentation.Cli/UNet.Segmentation.Cli.csproj", "-t:UNetCheckBackend", "-p:UNetBackend=gpu");
        Assert.NotEqual(0, code);
        Assert.Contains("UNetBackend 'gpu' is not a backend: use cpu, cuda-linux or cuda-windows", output);
    }
}
