using UNet.Segmentation.Runtime;
using UNet.Segmentation.Tests.Shared;

namespace UNet.Segmentation.Tests.Runtime;

/// <summary>A native library that cannot load gives one message naming the cause and the fix.</summary>
public sealed class TorchRuntimeTests
{
    [Fact]
    public void NoBackendPackage_NamesThePackagesToAdd()
    {
        string empty = Directory.CreateTempSubdirectory("no-backend-").FullName;
        try
        {
            var e = TorchRuntime.Explain(new TypeInitializationException("TorchSharp.torch", new NotSupportedException("inner")), empty);
            Assert.Contains("TorchSharp-cpu", e.Message);
            Assert.Contains("TorchSharp-cuda-linux", e.Message);
            Assert.Contains(empty, e.Message);
            Assert.IsType<TypeInitializationException>(e.InnerException);
        }
        finally
        {
            Directory.Delete(empty, true);
        }
    }

    [Fact]
    public void UnpatchedLibraryOnAnOlderLibstdcxx_NamesTheVersionAndTheFix()
    {
        Requirement.SkipWhen(File.ReadAllText("/usr/lib/x86_64-linux-gnu/libstdc++.so.6").Contains(TorchRuntime.GlibcxxVersion, StringComparison.Ordinal),
            $"this system's libstdc++ has {TorchRuntime.GlibcxxVersion}, so the unpatched library loads here");
        // libtorch is loaded first (so the copy's dependencies resolve); the package's own copy, in a
        // folder of its own, is then refused by the loader for GLIBCXX_3.4.32 alone.
        TorchRuntime.EnsureLoaded();
        string dir = Directory.CreateTempSubdirectory("unpatched-").FullName;
        try
        {
            File.Copy(PackagedNativeLibrary.Path(), Path.Combine(dir, "libLibTorchSharp.so"));
            var e = TorchRuntime.Explain(new TypeInitializationException("TorchSharp.torch", null), dir);
            Assert.Contains(TorchRuntime.GlibcxxVersion, e.Message);
            Assert.Contains("UNetPatchLibTorchSharp=true", e.Message);
            Assert.Contains("docs/torchsharp-on-older-linux.md", e.Message);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void EnsureLoaded_IsIdempotent_AndTorchWorksAfterIt()
    {
        TorchRuntime.EnsureLoaded();
        TorchRuntime.EnsureLoaded();
        using var t = TorchSharp.torch.arange(4);
        Assert.Equal(6L, t.sum().item<long>());
    }
}
