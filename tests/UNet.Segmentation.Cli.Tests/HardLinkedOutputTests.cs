using System.Diagnostics;
using System.IO.Compression;
using UNet.Segmentation.Tests.Shared;

namespace UNet.Segmentation.Cli.Tests;

/// <summary>
/// Directory.Build.props makes the repository's outputs hard links to the NuGet cache (libtorch is
/// about 1.3 GB a folder). Two things must hold on the built CLI output: the links are there (the
/// saving is real), and nothing wrote through them into the cache — above all the GLIBCXX fix,
/// which must replace its file by a rename and leave the cache's libLibTorchSharp.so as the
/// package holds it.
/// </summary>
public sealed class HardLinkedOutputTests
{
    private const string TorchSharpVersion = "0.107.0";

    private static string Output(string file) =>
        Path.Combine(Path.GetDirectoryName(CliProcess.DllPath())!, "runtimes", "linux-x64", "native", file);

    private static string CachePackage(string id, string version) =>
        Path.Combine(Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } cache
            ? cache
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages"), id, version);

    private static (long Device, long Inode, int Links) Stat(string path)
    {
        var start = new ProcessStartInfo("stat", ["-L", "-c", "%d %i %h", path]) { RedirectStandardOutput = true };
        using var process = Process.Start(start)!;
        string[] fields = process.StandardOutput.ReadToEnd().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"stat {path} failed");
        return (long.Parse(fields[0]), long.Parse(fields[1]), int.Parse(fields[2]));
    }

    private static void RequireLinuxX64()
    {
        if (!OperatingSystem.IsLinux() || System.Runtime.InteropServices.RuntimeInformation.OSArchitecture != System.Runtime.InteropServices.Architecture.X64)
            Requirement.Skip("the outputs checked are linux-x64's");
    }

    [Fact]
    public void TheCachesLibTorchSharp_IsStillTheOneInItsPackage()
    {
        RequireLinuxX64();
        string package = CachePackage("torchsharp", TorchSharpVersion);
        string cached = Path.Combine(package, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.True(File.Exists(cached), $"no {cached}: the CLI was restored from another cache");
        using var zip = ZipFile.OpenRead(Path.Combine(package, $"torchsharp.{TorchSharpVersion}.nupkg"));
        var entry = zip.GetEntry("runtimes/linux-x64/native/libLibTorchSharp.so");
        Assert.NotNull(entry);
        using var packed = new MemoryStream();
        using (var stream = entry.Open()) stream.CopyTo(packed);
        Assert.True(packed.ToArray().AsSpan().SequenceEqual(File.ReadAllBytes(cached)),
            $"{cached} differs from the file in its .nupkg: a build wrote into the NuGet cache through a hard link");
    }

    [Fact]
    public void APatchedLibTorchSharp_IsAFileOfItsOwn()
    {
        RequireLinuxX64();
        string output = Output("libLibTorchSharp.so");
        string cached = Path.Combine(CachePackage("torchsharp", TorchSharpVersion), "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.True(File.Exists(output), $"no {output}");
        bool patched = !File.ReadAllBytes(output).AsSpan().SequenceEqual(File.ReadAllBytes(cached));
        if (!patched) Requirement.Skip("this machine's libstdc++ has GLIBCXX_3.4.32: the CLI's libLibTorchSharp.so was not patched, so there is no patched file to check");
        Assert.NotEqual(Stat(cached).Inode, Stat(output).Inode);
    }

    [Fact]
    public void Libtorch_InTheOutput_IsAHardLinkToTheCache()
    {
        RequireLinuxX64();
        string output = Output("libtorch_cpu.so");
        string cached = Path.Combine(CachePackage("libtorch-cpu-linux-x64", "2.10.0"), "runtimes", "linux-x64", "native", "libtorch_cpu.so");
        Assert.True(File.Exists(output), $"no {output}");
        Assert.True(File.Exists(cached), $"no {cached}");
        if (Stat(output).Device != Stat(cached).Device)
            Requirement.Skip("the NuGet cache is on another file system than the repository: MSBuild copies, it cannot link");
        Assert.Equal(Stat(cached).Inode, Stat(output).Inode);
    }
}
