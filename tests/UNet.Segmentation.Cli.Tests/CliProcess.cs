using System.Diagnostics;

namespace UNet.Segmentation.Cli.Tests;

/// <summary>Runs the sample app's built unet.dll (same configuration as these tests) and captures what it prints.</summary>
internal static class CliProcess
{
    /// <summary>The repository root: the nearest folder above the test assembly holding UNet.Segmentation.sln (source paths are not usable: CI builds map them to /_/).</summary>
    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "UNet.Segmentation.sln"))) return dir.FullName;
        throw new InvalidOperationException($"no UNet.Segmentation.sln above {AppContext.BaseDirectory}");
    }

    public static string DllPath()
    {
        string repo = RepositoryRoot();
        string configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}") ? "Release" : "Debug";
        return Path.Combine(repo, "samples", "UNet.Segmentation.Cli", "bin", configuration, "net10.0", "unet.dll");
    }

    public static (int ExitCode, string Output) Run(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        string dll = DllPath();
        if (!File.Exists(dll)) throw new FileNotFoundException($"the sample app is not built: {dll}", dll);
        start.ArgumentList.Add(dll);
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
