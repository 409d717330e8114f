using System.Runtime.InteropServices;

namespace UNet.Segmentation.Runtime;

/// <summary>Where TorchSharp's backend packages put their native files in an application's output.</summary>
internal static class NativeFiles
{
    /// <summary>The platform's file name of a native library ("torch_cpu" → libtorch_cpu.so, torch_cpu.dll, libtorch_cpu.dylib).</summary>
    public static string FileName(string name) =>
        OperatingSystem.IsWindows() ? name + ".dll" : OperatingSystem.IsMacOS() ? "lib" + name + ".dylib" : "lib" + name + ".so";

    /// <summary>The places a library of that name can be in <paramref name="directory"/>: top level (publish with a runtime) or runtimes/RID/native (build).</summary>
    public static IEnumerable<string> Candidates(string directory, string name)
    {
        string file = FileName(name);
        yield return Path.Combine(directory, file);
        yield return Path.Combine(directory, "runtimes", RuntimeInformation.RuntimeIdentifier, "native", file);
        yield return Path.Combine(directory, "runtimes", "linux-x64", "native", file);
    }

    /// <summary>The first existing candidate, or null.</summary>
    public static string? Find(string directory, string name) => Candidates(directory, name).FirstOrDefault(File.Exists);
}
