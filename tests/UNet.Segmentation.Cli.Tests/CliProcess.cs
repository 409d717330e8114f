using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace UNet.Segmentation.Cli.Tests;

/// <summary>Runs the sample app's built unet.dll (same configuration as these tests) and captures what it prints.</summary>
internal static class CliProcess
{
    public static string DllPath([CallerFilePath] string here = "")
    {
        string repo = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(here)!, "..", ".."));
        string configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}") ? "Release" : "Debug";
        return Path.Combine(repo, "samples", "UNet.Segmentation.Cli", "bin", configuration, "net10.0", "unet.dll");
    }

    public static (int ExitCode, string Output) Run(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(DllPath());
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment["NO_COLOR"] = "1";
        using var p = Process.Start(start)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(5))) { p.Kill(true); throw new TimeoutException("unet ran past 5 minutes"); }
        p.WaitForExit();
        return (p.ExitCode, stdout.Result + stderr.Result);
    }
}
