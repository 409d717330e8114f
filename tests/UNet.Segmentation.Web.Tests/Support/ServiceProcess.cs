using System.Diagnostics;
using System.Text;

namespace UNet.Segmentation.Web.Tests.Support;

/// <summary>Runs the sample's own build (UNet.Segmentation.Web.dll, same configuration as these tests) as a user does: `dotnet UNet.Segmentation.Web.dll --Segmentation:ModelPath=…`.</summary>
internal sealed class ServiceProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();

    private ServiceProcess(Process process) => _process = process;

    /// <summary>The repository root: the nearest folder above the test assembly holding UNet.Segmentation.sln.</summary>
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "UNet.Segmentation.sln"))) return dir.FullName;
        throw new InvalidOperationException($"no UNet.Segmentation.sln above {AppContext.BaseDirectory}");
    }

    /// <summary>samples/UNet.Segmentation.Web/bin/{Release|Debug}/net10.0/UNet.Segmentation.Web.dll.</summary>
    public static string DllPath()
    {
        string configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}") ? "Release" : "Debug";
        return Path.Combine(RepositoryRoot(), "samples", "UNet.Segmentation.Web", "bin", configuration, "net10.0", "UNet.Segmentation.Web.dll");
    }

    /// <summary>Starts the service with <paramref name="args"/> (a free port is chosen with --urls http://127.0.0.1:0).</summary>
    public static ServiceProcess Start(params string[] args) => StartIn(Environment.CurrentDirectory, args);

    /// <summary>Starts the service in the working directory <paramref name="folder"/>.</summary>
    public static ServiceProcess StartIn(string folder, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = folder };
        start.ArgumentList.Add(DllPath());
        start.ArgumentList.Add("--urls=http://127.0.0.1:0");
        foreach (string arg in args) start.ArgumentList.Add(arg);
        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        var service = new ServiceProcess(Process.Start(start)!);
        service._process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (service._stdout) service._stdout.AppendLine(e.Data); };
        service._process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (service._stderr) service._stderr.AppendLine(e.Data); };
        service._process.BeginOutputReadLine();
        service._process.BeginErrorReadLine();
        return service;
    }

    public string Stdout { get { lock (_stdout) return _stdout.ToString(); } }

    public string Stderr { get { lock (_stderr) return _stderr.ToString(); } }

    /// <summary>Waits for the process to exit and gives its exit code, or null when it still runs after <paramref name="timeout"/>.</summary>
    public async Task<int?> ExitCodeAsync(TimeSpan timeout)
    {
        using var limit = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(limit.Token);
            _process.WaitForExit(); // the output's last lines
            return _process.ExitCode;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>The address Kestrel reports ("Now listening on: http://127.0.0.1:N"), waiting up to <paramref name="timeout"/>.</summary>
    public async Task<Uri?> ListeningAsync(TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout && !_process.HasExited)
        {
            var line = Stdout.Split('\n').FirstOrDefault(l => l.Contains("Now listening on: "));
            if (line is not null) return new Uri(line[(line.IndexOf("Now listening on: ", StringComparison.Ordinal) + 18)..].Trim());
            await Task.Delay(100);
        }
        return null;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
        _process.Dispose();
    }
}
