using TorchSharp;

namespace UNet.Segmentation.Tests.Runtime;

/// <summary>TorchSharp's libLibTorchSharp.so as its NuGet package ships it (read only: the cache is never modified).</summary>
internal static class PackagedNativeLibrary
{
    public static string Path()
    {
        string cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES") ?? System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        string version = typeof(torch).Assembly.GetName().Version!.ToString(3);
        string path = System.IO.Path.Combine(cache, "torchsharp", version, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.True(File.Exists(path), $"TorchSharp's native library is not at {path}");
        return path;
    }
}
