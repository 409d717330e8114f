using System.Diagnostics;
using TorchSharp;

namespace UNet.Segmentation.Tests.Runtime;

/// <summary>The build step that lets TorchSharp 0.107's native library load on Debian 12's libstdc++ (docs/torchsharp-on-older-linux.md).</summary>
public sealed class WeakGlibcxxNeedTests
{
    private static string ReadElfVersions(string path)
    {
        var start = new ProcessStartInfo("readelf", ["-V", "--wide", path]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(start)!;
        string text = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.Equal(0, p.ExitCode);
        return text;
    }

    private static string VersionLine(string readelf, string version) =>
        readelf.Split('\n').Single(l => l.Contains("Name: " + version, StringComparison.Ordinal));

    [Fact]
    public void PackagedLibrary_NeedsTheVersionStrongly_AndThePatchMakesOnlyThatNeedWeak()
    {
        string original = PackagedNativeLibrary.Path();
        byte[] bytes = File.ReadAllBytes(original);
        Assert.DoesNotContain("WEAK", VersionLine(ReadElfVersions(original), "GLIBCXX_3.4.32"));

        Assert.Equal("patched", ElfVersionNeeds.MarkWeak(bytes, "GLIBCXX_3.4.32"));
        string copy = Path.Combine(Path.GetTempPath(), $"weak-{Guid.NewGuid():N}.so");
        try
        {
            File.WriteAllBytes(copy, bytes);
            string after = ReadElfVersions(copy);
            Assert.Contains("WEAK", VersionLine(after, "GLIBCXX_3.4.32"));
            // Every other version need is as it was, and exactly two bytes changed.
            var before = ReadElfVersions(original).Split('\n').Where(l => l.Contains("Name: ", StringComparison.Ordinal) && !l.Contains("GLIBCXX_3.4.32", StringComparison.Ordinal));
            var later = after.Split('\n').Where(l => l.Contains("Name: ", StringComparison.Ordinal) && !l.Contains("GLIBCXX_3.4.32", StringComparison.Ordinal));
            Assert.Equal(before, later);
            byte[] orig = File.ReadAllBytes(original);
            Assert.Equal(orig.Length, bytes.Length);
            Assert.InRange(orig.Zip(bytes).Count(pair => pair.First != pair.Second), 1, 2);
        }
        finally
        {
            File.Delete(copy);
        }
        Assert.Equal("already weak", ElfVersionNeeds.MarkWeak(bytes, "GLIBCXX_3.4.32"));
    }

    [Fact]
    public void AVersionTheLibraryDoesNotNeed_IsReportedAbsent_AndNothingChanges()
    {
        byte[] bytes = File.ReadAllBytes(PackagedNativeLibrary.Path());
        byte[] copy = (byte[])bytes.Clone();
        Assert.Equal("absent", ElfVersionNeeds.MarkWeak(copy, "GLIBCXX_9.9.99"));
        Assert.Equal(bytes, copy);
    }

    [Theory]
    [InlineData("not an ELF file")]
    [InlineData("truncated")]
    [InlineData("32-bit")]
    public void FilesThatAreNotA64BitElf_AreRefusedWithInvalidData(string kind)
    {
        byte[] elf = File.ReadAllBytes(PackagedNativeLibrary.Path());
        byte[] input = kind switch
        {
            "not an ELF file" => "#!/bin/sh\necho hello\n"u8.ToArray().Concat(new byte[64]).ToArray(),
            "truncated" => elf[..4096],
            _ => elf.Select((b, i) => i == 4 ? (byte)1 : b).ToArray(),
        };
        Assert.Throws<InvalidDataException>(() => ElfVersionNeeds.MarkWeak(input, "GLIBCXX_3.4.32"));
    }

    [Fact]
    public void TheLibraryInThisTestsOutput_LoadsAndRuns_OnThisMachinesLibstdcxx()
    {
        // The build imported the package's buildTransitive targets (Directory.Build.targets), so the
        // copy beside this assembly is whatever the build decided; a torch call must work either way.
        string here = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.True(File.Exists(here));
        bool systemHasVersion = File.ReadAllText("/usr/lib/x86_64-linux-gnu/libstdc++.so.6").Contains("GLIBCXX_3.4.32", StringComparison.Ordinal);
        if (!systemHasVersion) Assert.Contains("WEAK", VersionLine(ReadElfVersions(here), "GLIBCXX_3.4.32"));
        UNet.Segmentation.Runtime.TorchRuntime.EnsureLoaded();
        using var x = torch.ones(3);
        Assert.Equal(3f, x.sum().item<float>());
    }
}
