using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace UNet.Segmentation.Tests.Training;

/// <summary>
/// Starts tests/UNet.Segmentation.DistributedWorker (dp-worker.dll) once per rank with torchrun's
/// environment variables and collects each one's output. Every wait has a hard limit, and
/// disposing kills whatever is still running, so a failing test leaves no process behind.
/// </summary>
internal sealed class DataParallelWorkers : IDisposable
{
    private readonly List<Process> _processes = [];
    private readonly List<ConcurrentQueue<string>> _outputs = [];

    public static string WorkerPath()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (!File.Exists(Path.Combine(dir.FullName, "UNet.Segmentation.sln"))) continue;
            string configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}") ? "Release" : "Debug";
            string path = Path.Combine(dir.FullName, "tests", "UNet.Segmentation.DistributedWorker", "bin", configuration, "net10.0", "dp-worker.dll");
            return File.Exists(path) ? path : throw new FileNotFoundException($"the data-parallel worker is not built: {path}", path);
        }
        throw new InvalidOperationException($"no UNet.Segmentation.sln above {AppContext.BaseDirectory}");
    }

    public static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>Starts one process; <paramref name="rank"/> null: no distributed variables at all.</summary>
    public int Start(string workDir, int? rank, int worldSize, int port, double timeoutSeconds, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workDir };
        start.ArgumentList.Add(WorkerPath());
        foreach (var a in args) start.ArgumentList.Add(a);
        foreach (var name in new[] { "RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT", "UNET_DIST_STORE_FILE", "UNET_DIST_BACKEND" })
            start.Environment.Remove(name);
        if (rank is { } r)
        {
            start.Environment["RANK"] = r.ToString();
            start.Environment["LOCAL_RANK"] = r.ToString();
            start.Environment["WORLD_SIZE"] = worldSize.ToString();
            start.Environment["MASTER_ADDR"] = "127.0.0.1";
            start.Environment["MASTER_PORT"] = port.ToString();
            start.Environment["UNET_DIST_TIMEOUT_SECONDS"] = timeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        var output = new ConcurrentQueue<string>();
        var p = new Process { StartInfo = start };
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) output.Enqueue(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) output.Enqueue("stderr: " + e.Data); };
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        _processes.Add(p);
        _outputs.Add(output);
        return _processes.Count - 1;
    }

    public Process this[int index] => _processes[index];

    public string Output(int index) => string.Join("\n", _outputs[index]);

    /// <summary>Waits for a process to exit; false when it is still running after <paramref name="limit"/>.</summary>
    public bool WaitForExit(int index, TimeSpan limit)
    {
        if (!_processes[index].WaitForExit(limit)) return false;
        _processes[index].WaitForExit(); // drains the output
        return true;
    }

    /// <summary>Waits until a line of a process's output contains <paramref name="text"/>; false after <paramref name="limit"/> or when it exits first.</summary>
    public bool WaitForLine(int index, string text, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < limit)
        {
            if (_outputs[index].Any(l => l.Contains(text, StringComparison.Ordinal))) return true;
            if (_processes[index].HasExited) return _outputs[index].Any(l => l.Contains(text, StringComparison.Ordinal));
            Thread.Sleep(50);
        }
        return false;
    }

    /// <summary>Starts the given ranks of one job, waits for all (each within <paramref name="limit"/>) and returns their outputs; fails the test on a non-zero exit.</summary>
    public static string[] RunJob(string workDir, int worldSize, TimeSpan limit, params string[] args)
    {
        using var workers = new DataParallelWorkers();
        int port = FreePort();
        for (int r = 0; r < worldSize; r++) workers.Start(workDir, worldSize == 1 ? null : r, worldSize, port, 60, args);
        var outputs = new string[worldSize];
        for (int r = 0; r < worldSize; r++)
        {
            Assert.True(workers.WaitForExit(r, limit), $"rank {r} ran past {limit}:\n{workers.Output(r)}");
            outputs[r] = workers.Output(r);
            Assert.True(workers[r].ExitCode == 0, $"rank {r} exited with {workers[r].ExitCode}:\n{outputs[r]}");
        }
        return outputs;
    }

    public void Dispose()
    {
        foreach (var p in _processes)
        {
            try
            {
                if (!p.HasExited) p.Kill(entireProcessTree: true);
                p.WaitForExit(10_000);
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }
            p.Dispose();
        }
    }
}
