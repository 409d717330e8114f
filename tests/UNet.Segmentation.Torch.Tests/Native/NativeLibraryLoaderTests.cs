using System.Diagnostics;
using UNet.Segmentation.Torch.Native;
using Xunit.Abstractions;

namespace UNet.Segmentation.Torch.Tests.Native;

/// <summary>
/// The loader's failure messages, with stand-in libraries compiled by the system C compiler:
/// one whose libtorch dependency is gone, one with the wrong ABI version, one that is not the shim.
/// </summary>
public sealed class NativeLibraryLoaderTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("loader-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private bool Compile(string name, string source, params string[] extra)
    {
        string c = Path.Combine(_dir, name + ".c");
        File.WriteAllText(c, source);
        var start = new ProcessStartInfo("cc") { WorkingDirectory = _dir, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { "-shared", "-fPIC", "-o", name, c }.Concat(extra)) start.ArgumentList.Add(a);
        try
        {
            using var p = Process.Start(start)!;
            string err = p.StandardError.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode == 0) return true;
            output.WriteLine($"cc failed: {err}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            output.WriteLine($"no C compiler: {e.Message}");
        }
        if (Environment.GetEnvironmentVariable("CI") == "true") Assert.Fail("the C compiler is needed to build stand-in libraries");
        Console.WriteLine("NativeLibraryLoaderTests: no working C compiler, test not run");
        return false;
    }

    [Fact]
    public void MissingEverywhere_ListsEveryPathTried()
    {
        string bogus = Path.Combine(_dir, "nowhere", NativeLibraryLoader.FileName);
        var ex = Assert.Throws<TorchNativeLoadException>(() => NativeLibraryLoader.Load(bogus, [_dir], systemSearch: false));
        Assert.Contains(bogus + ": no such file", ex.Message);
        Assert.Contains(Path.Combine(_dir, NativeLibraryLoader.FileName), ex.Message);
        Assert.Contains("dotnet build", ex.Message);
    }

    [Fact]
    public void ShimWhoseLibtorchIsGone_SaysWhichPackageToInstall()
    {
        // A stand-in shim linked against a fake libtorch that is then deleted.
        if (!Compile("libtorch_cpu.so.999", "int torch_stub(void) { return 0; }", "-Wl,-soname,libtorch_cpu.so.999")) return;
        if (!Compile(NativeLibraryLoader.FileName, "extern int torch_stub(void); int uts_abi_version(void) { return torch_stub() + 1; }",
                $"-L{_dir}", "-l:libtorch_cpu.so.999")) return;
        File.Delete(Path.Combine(_dir, "libtorch_cpu.so.999"));
        var ex = Assert.Throws<TorchNativeLoadException>(() => NativeLibraryLoader.Load(_dir, [], systemSearch: false));
        Assert.Contains("libtorch_cpu.so.999", ex.Message);
        Assert.Contains("apt-get install libtorch-dev", ex.Message);
        Assert.Contains("TorchDir", ex.Message);
    }

    [Fact]
    public void ShimWithAnotherAbiVersion_IsRejected()
    {
        if (!Compile(NativeLibraryLoader.FileName, "int uts_abi_version(void) { return 999; }")) return;
        var ex = Assert.Throws<TorchNativeLoadException>(() => NativeLibraryLoader.Load(_dir, [], systemSearch: false));
        Assert.Contains($"ABI version 999, this binding needs {NativeMethods.AbiVersion}", ex.Message);
    }

    [Fact]
    public void LibraryThatIsNotTheShim_IsRejected()
    {
        if (!Compile(NativeLibraryLoader.FileName, "int something_else(void) { return 1; }")) return;
        var ex = Assert.Throws<TorchNativeLoadException>(() => NativeLibraryLoader.Load(_dir, [], systemSearch: false));
        Assert.Contains("exports no uts_abi_version", ex.Message);
    }

    [Fact]
    public void TheRealShim_LoadsFromTheRuntimesFolder_WithTheExpectedAbi()
    {
        var handle = NativeLibraryLoader.Load(null, NativeLibraryLoader.CandidateFolders(), systemSearch: false);
        Assert.NotEqual(IntPtr.Zero, handle);
        Assert.Equal(NativeMethods.AbiVersion, LibTorch.AbiVersion);
    }
}
