using UNet.Segmentation.Tests.Shared;
using UNet.Segmentation.Runtime;

namespace UNet.Segmentation.Tests.Runtime;

/// <summary>
/// An app that forgot TorchSharp's backend package gets one message naming the package(s) for its
/// platform, or saying that TorchSharp has none there. The platform is injected, so each platform's
/// message is tested here; scripts/consumer-test.sh runs an app without TorchSharp-cpu.
/// </summary>
public sealed class TorchBackendPackagesTests
{
    private static string MessageFor(string rid)
    {
        string empty = Directory.CreateTempSubdirectory("no-backend-").FullName;
        try
        {
            var e = TorchRuntime.Explain(new TypeInitializationException("TorchSharp.torch", new NotSupportedException("inner")), empty, rid);
            Assert.Contains(empty, e.Message);
            return e.Message;
        }
        finally
        {
            Directory.Delete(empty, true);
        }
    }

    [Theory]
    [InlineData("linux-x64", "TorchSharp-cpu (CPU) or TorchSharp-cuda-linux (CUDA)", "cuda-windows")]
    [InlineData("win-x64", "TorchSharp-cpu (CPU) or TorchSharp-cuda-windows (CUDA)", "cuda-linux")]
    [InlineData("osx-arm64", "on osx-arm64: TorchSharp-cpu (version", "cuda")]
    [InlineData("win-arm64", "TorchSharp-cpu and libtorch-cpu-win-arm64", "cuda")]
    public void EachPlatform_NamesItsOwnPackages(string rid, string expected, string notNamed)
    {
        string message = MessageFor(rid);
        Assert.Contains($"on {rid}: ", message);
        Assert.Contains(expected, message);
        Assert.DoesNotContain($"TorchSharp-{notNamed}", message);
    }

    [Theory]
    [InlineData("linux-arm64")]
    [InlineData("osx-x64")]
    public void APlatformWithoutABackend_SaysSoAndPointsToOnnx(string rid)
    {
        string message = MessageFor(rid);
        Assert.Contains($"has no backend package for {rid}", message);
        Assert.Contains("UNet.Segmentation.Onnx", message);
        Assert.DoesNotContain("add a backend package", message);
    }

    [Fact]
    public void TheRunningPlatformIsAPortableIdentifier()
    {
        string rid = TorchRuntime.RunningPlatform();
        Assert.Matches("^(linux|win|osx)-(x64|arm64|x86|arm|[a-z0-9]+)$", rid);
        // This project's tests run where TorchSharp-cpu has a backend.
        Assert.NotNull(TorchRuntime.BackendPackages(rid));
    }

    [Fact]
    public void LibTorchSharpWithoutLibtorch_TheTorchSharpPackageAlone_NamesTheBackendPackages()
    {
        // The managed TorchSharp package carries libLibTorchSharp itself; libtorch comes with the
        // backend package. Without it the loader cannot find libtorch, and the message says what to add.
        Requirement.SkipWhen(!OperatingSystem.IsLinux(), "the library's file names here are Linux's");
        string dir = Directory.CreateTempSubdirectory("torchsharp-only-").FullName;
        try
        {
            string library = Path.Combine(dir, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
            Directory.CreateDirectory(Path.GetDirectoryName(library)!);
            File.WriteAllText(library, "not loadable");
            var e = TorchRuntime.Explain(new TypeInitializationException("TorchSharp.torch", null), dir, "linux-x64");
            Assert.StartsWith($"libtorch (libtorch_cpu.so) is not in {dir}, only TorchSharp's libLibTorchSharp.so: add a backend package to the application — on linux-x64: TorchSharp-cpu (CPU) or TorchSharp-cuda-linux (CUDA) (version ", e.Message);
            Assert.DoesNotContain('\n', e.Message);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
