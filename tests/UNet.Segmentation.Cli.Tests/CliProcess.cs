using System.Diagnostics;

namespace UNet.Segmentation.Cli.Tests;

/// <summary>Runs the sample app's built unet.dll (same configuration as these tests) and captures what it prints.</summary>
internal static class CliProcess
{
    /// <summary>The repository root: the nearest folder above the test assembly holding UNet.Segmentation.sln (source paths are not usable: CI builds map them to /_/).</summary>
    internal static string RepositoryRoot()
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

    public static (int ExitCode, string Output) Run(params string[] args) => RunWith(null, null, args);

    /// <summary>
    /// Runs unet.dll, through <paramref name="launcher"/> when given (e.g. "mpirun -np 2": its
    /// words come before "dotnet unet.dll"), with <paramref name="environment"/> added (a null
    /// value removes the variable).
    /// </summary>
    public static (int ExitCode, string Output) RunWith(string[]? launcher, IReadOnlyDictionary<string, string?>? environment, params string[] args)
    {
        var (code, stdout, stderr) = Start(launcher, environment, args);
        return (code, stdout + stderr);
    }

    /// <summary>Runs unet.dll with <paramref name="environment"/> added, keeping stdout and stderr apart.</summary>
    public static (int ExitCode, string Stdout, string Stderr) RunSplit(IReadOnlyDictionary<string, string?>? environment, params string[] args) =>
        Start(null, environment, args);

    /// <summary>
    /// Starts unet.dll (through <paramref name="launcher"/>'s words when given, with
    /// <paramref name="environment"/> added), drains its output, and returns it still running once
    /// <paramref name="ready"/> holds; fails if it ends first or <paramref name="ready"/> does not
    /// hold within 3 minutes. The caller kills it (or a process of it) and disposes it.
    /// </summary>
    public static Process StartUntil(string[]? launcher, IReadOnlyDictionary<string, string?>? environment, string[] args, Func<bool> ready)
    {
        var start = new ProcessStartInfo(launcher?[0] ?? "dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in launcher?.Skip(1) ?? []) start.ArgumentList.Add(a);
        if (launcher is not null) start.ArgumentList.Add("dotnet");
        start.ArgumentList.Add(DllPath());
        foreach (string a in args) start.ArgumentList.Add(a);
        start.Environment["NO_COLOR"] = "1";
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>()) start.Environment[name] = value;
        var p = Process.Start(start)!;
        _ = p.StandardOutput.ReadToEndAsync();
        _ = p.StandardError.ReadToEndAsync();
        var clock = Stopwatch.StartNew();
        while (!ready())
        {
            Xunit.Assert.False(p.HasExited, "unet finished before it could be killed; make the volume slower");
            Xunit.Assert.True(clock.Elapsed < TimeSpan.FromMinutes(3), "unet made no progress in 3 minutes");
            Thread.Sleep(5);
        }
        return p;
    }

    private static (int ExitCode, string Stdout, string Stderr) Start(string[]? launcher, IReadOnlyDictionary<string, string?>? environment, string[] args)
    {
        string dll = DllPath();
        if (!File.Exists(dll)) throw new FileNotFoundException($"the sample app is not built: {dll}", dll);
        var start = new ProcessStartInfo(launcher?[0] ?? "dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in launcher?.Skip(1) ?? []) start.ArgumentList.Add(a);
        if (launcher is not null) start.ArgumentList.Add("dotnet");
        start.ArgumentList.Add(dll);
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment["NO_COLOR"] = "1";
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
            if (value is null) start.Environment.Remove(name);
            else start.Environment[name] = value;
        using var p = Process.Start(start)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(5))) { p.Kill(true); throw new TimeoutException("unet ran past 5 minutes"); }
        p.WaitForExit();
        return (p.ExitCode, stdout.Result, stderr.Result);
    }
}
