using System.Diagnostics;

namespace UNet.Segmentation.Cli.Tests;

/// <summary>
/// The buildTransitive GLIBCXX fix (src/UNet.Segmentation/buildTransitive/UNet.Segmentation.targets)
/// decides per build whether to mark libLibTorchSharp.so's GLIBCXX_3.4.32 need weak: only a Linux
/// output holds that file, so a publish for Windows or macOS never runs the patch, even when forced.
/// Read from MSBuild's own run of the deciding target, on the CLI project (which imports the targets
/// as a package consumer does).
/// </summary>
public sealed class LibTorchSharpPatchTargetsTests
{
    private const string Cli = "samples/UNet.Segmentation.Cli/UNet.Segmentation.Cli.csproj";

    private static string Decision(string? runtimeIdentifier, string force)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = CliProcess.RepositoryRoot() };
        foreach (var a in (string[])["msbuild", Cli, "-nologo", "-t:_UNetDecideLibTorchSharpPatch", "-getProperty:_UNetPatch", $"-p:UNetPatchLibTorchSharp={force}"])
            start.ArgumentList.Add(a);
        if (runtimeIdentifier is not null) start.ArgumentList.Add($"-p:RuntimeIdentifier={runtimeIdentifier}");
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, output + stderr.Result);
        return output.Trim();
    }

    [Theory]
    [InlineData("win-x64")]
    [InlineData("win-arm64")]
    [InlineData("osx-arm64")]
    public void APublishForWindowsOrMacOS_NeverPatches_EvenWhenForced(string runtimeIdentifier)
    {
        Assert.Equal("false", Decision(runtimeIdentifier, "true"));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("linux-x64")]
    public void ALinuxOutput_IsPatchedWhenForced(string? runtimeIdentifier)
    {
        Assert.Equal("true", Decision(runtimeIdentifier, "true"));
    }

    [Fact]
    public void TurnedOff_NothingIsPatched()
    {
        Assert.NotEqual("true", Decision("linux-x64", "false"));
    }
}
