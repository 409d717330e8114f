using UNet.Segmentation.Onnx;

namespace UNet.Segmentation.Tests.Onnx;

/// <summary>
/// An app that forgot ONNX Runtime's native package gets one message naming the package for its
/// platform (UNet.Segmentation.Onnx references the managed API only). The platform is injected, so
/// every platform's message is tested here; scripts/consumer-test.sh runs an app without the package.
/// </summary>
public sealed class OnnxNativeLibraryTests
{
    private static Exception Missing() =>
        new TypeInitializationException("Microsoft.ML.OnnxRuntime.NativeMethods", new DllNotFoundException("Unable to load shared library 'onnxruntime'"));

    [Theory]
    [InlineData("linux-x64", "Microsoft.ML.OnnxRuntime (CPU) or Microsoft.ML.OnnxRuntime.Gpu.Linux (CUDA)", "libonnxruntime.so")]
    [InlineData("win-x64", "Microsoft.ML.OnnxRuntime (CPU) or Microsoft.ML.OnnxRuntime.Gpu.Windows (CUDA)", "onnxruntime.dll")]
    [InlineData("osx-arm64", "on osx-arm64: Microsoft.ML.OnnxRuntime, at the same version", "libonnxruntime.dylib")]
    [InlineData("linux-arm64", "on linux-arm64: Microsoft.ML.OnnxRuntime, at the same version", "libonnxruntime.so")]
    public void AMissingLibrary_NamesThePackageForThePlatform(string rid, string packages, string file)
    {
        string empty = Directory.CreateTempSubdirectory("no-onnxruntime-").FullName;
        try
        {
            var e = OnnxNativeLibrary.Explain(Missing(), empty, rid);
            Assert.IsType<OnnxRuntimeNativeLibraryException>(e);
            Assert.Contains(packages, e.Message);
            Assert.Contains($"({file})", e.Message);
            Assert.Contains(empty, e.Message);
            Assert.Contains("Microsoft.ML.OnnxRuntime.Managed", e.Message);
            Assert.IsType<TypeInitializationException>(e.InnerException);
        }
        finally
        {
            Directory.Delete(empty, true);
        }
    }

    [Fact]
    public void APlatformWithoutAPackage_SaysSo()
    {
        var e = OnnxNativeLibrary.Explain(Missing(), Path.GetTempPath(), "osx-x64");
        Assert.Contains("ship none for osx-x64", e.Message);
        Assert.DoesNotContain("add the native package", e.Message);
    }

    [Fact]
    public void ALibraryThatIsThereButDoesNotLoad_GivesTheLoadersReason_NotAPackage()
    {
        string dir = Directory.CreateTempSubdirectory("broken-onnxruntime-").FullName;
        try
        {
            string library = Path.Combine(dir, "runtimes", "linux-x64", "native", "libonnxruntime.so");
            Directory.CreateDirectory(Path.GetDirectoryName(library)!);
            File.WriteAllText(library, "not a library");
            var e = OnnxNativeLibrary.Explain(new DllNotFoundException("invalid ELF header"), dir, "linux-x64");
            Assert.Equal($"ONNX Runtime's native library {library} could not be loaded: invalid ELF header", e.Message);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void OnlyLoadFailuresAreExplained()
    {
        Assert.True(OnnxNativeLibrary.IsLoadFailure(Missing()));
        Assert.True(OnnxNativeLibrary.IsLoadFailure(new EntryPointNotFoundException("OrtGetApiBase")));
        Assert.False(OnnxNativeLibrary.IsLoadFailure(new TypeInitializationException("X", new InvalidOperationException())));
        Assert.False(OnnxNativeLibrary.IsLoadFailure(new IOException("disk")));
    }

    [Fact]
    public void TheRunningPlatformIsAPortableIdentifier_WithAPackage()
    {
        string rid = OnnxNativeLibrary.RunningPlatform();
        Assert.Matches("^(linux|win|osx)-[a-z0-9]+$", rid);
        Assert.NotNull(OnnxNativeLibrary.Packages(rid));
    }
}
