using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace UNet.Segmentation.Tests.Distributed;

/// <summary>
/// One data-parallel job of tests/UNet.Segmentation.DataParallelWorker (dp-worker.dll) under
/// Open MPI's mpirun, with its output collected line by line. Every wait has a hard limit, and
/// disposing kills mpirun and every worker it started (their pids are printed first), so a
/// failing test leaves no process behind.
/// </summary>
internal sealed partial class MpiJob : IDisposable
{
    private readonly Process _mpirun;
    private readonly ConcurrentQueue<string> _lines = new();

    private MpiJob(Process mpirun) => _mpirun = mpirun;

    public static string WorkerPath()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (!File.Exists(Path.Combine(dir.FullName, "UNet.Segmentation.sln"))) continue;
            string configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}") ? "Release" : "Debug";
            string path = Path.Combine(dir.FullName, "tests", "UNet.Segmentation.DataParallelWorker", "bin", configuration, "net10.0", "dp-worker.dll");
            return File.Exists(path) ? path : throw new FileNotFoundException($"the data-parallel worker is not built: {path}", path);
        }
        throw new InvalidOperationException($"no UNet.Segmentation.sln above {AppContext.BaseDirectory}");
    }

    /// <summary>Starts <c>mpirun -np <paramref name="ranks"/> dotnet dp-worker.dll <paramref name="args"/></c> in <paramref name="workDir"/>.</summary>
    public static MpiJob Start(string workDir, int ranks, double timeoutSeconds, params string[] args)
    {
        var start = new ProcessStartInfo("mpirun") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, WorkingDirectory = workDir };
        foreach (var a in (string[])["--oversubscribe", "--bind-to", "none", "-np", ranks.ToString(CultureInfo.InvariantCulture), "dotnet", WorkerPath(), .. args])
            start.ArgumentList.Add(a);
        AllowRoot(start);
        start.Environment["UNET_DIST_TIMEOUT_SECONDS"] = timeoutSeconds.ToString(CultureInfo.InvariantCulture);
        start.Environment["OMP_NUM_THREADS"] = "1";
        // mpirun gives the ranks a pseudo-terminal; a dumb one keeps .NET from writing terminal control codes.
        start.Environment["TERM"] = "dumb";
        var job = new MpiJob(new Process { StartInfo = start });
        job._mpirun.OutputDataReceived += (_, e) => { if (e.Data is not null) job._lines.Enqueue(e.Data); };
        job._mpirun.ErrorDataReceived += (_, e) => { if (e.Data is not null) job._lines.Enqueue("stderr: " + e.Data); };
        job._mpirun.Start();
        job._mpirun.StandardInput.Close();
        job._mpirun.BeginOutputReadLine();
        job._mpirun.BeginErrorReadLine();
        return job;
    }

    /// <summary>Open MPI refuses to run as root unless told to; test machines and containers often are root.</summary>
    public static void AllowRoot(ProcessStartInfo start)
    {
        start.Environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1";
        start.Environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1";
    }

    /// <summary>Runs a job to completion and returns its output; fails the test on a non-zero exit or when it takes longer than <paramref name="limit"/>.</summary>
    public static string Run(string workDir, int ranks, TimeSpan limit, params string[] args)
    {
        using var job = Start(workDir, ranks, 120, args);
        Assert.True(job.WaitForExit(limit), $"mpirun -np {ranks} did not finish in {limit}:\n{job.Output}");
        Assert.True(job.ExitCode == 0, $"mpirun -np {ranks} exited with {job.ExitCode}:\n{job.Output}");
        return job.Output;
    }

    public string Output => string.Join('\n', _lines);

    public int ExitCode => _mpirun.ExitCode;

    /// <summary>The pid each rank printed first ("rank R of N: pid P").</summary>
    public int? Pid(int rank) => _lines.Select(l => PidLine().Match(l)).Where(m => m.Success && m.Groups[1].Value == rank.ToString(CultureInfo.InvariantCulture))
        .Select(m => (int?)int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture)).FirstOrDefault();

    public bool WaitForLine(string text, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < limit)
        {
            if (_lines.Any(l => l.Contains(text, StringComparison.Ordinal))) return true;
            if (_mpirun.HasExited) return _lines.Any(l => l.Contains(text, StringComparison.Ordinal));
            Thread.Sleep(50);
        }
        return false;
    }

    public bool WaitForExit(TimeSpan limit)
    {
        if (!_mpirun.WaitForExit(limit)) return false;
        _mpirun.WaitForExit(); // drain the output
        return true;
    }

    /// <summary>Sends <paramref name="signal"/> (KILL, STOP, CONT) to a process.</summary>
    public static void Signal(int pid, string signal)
    {
        using var kill = Process.Start("kill", [$"-{signal}", pid.ToString(CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    /// <summary>Waits until <paramref name="pid"/> has ended (a zombie that no one reaps counts as ended).</summary>
    public static bool WaitUntilGone(int pid, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        do
        {
            string stat = Path.Combine("/proc", pid.ToString(CultureInfo.InvariantCulture), "stat");
            string? text = null;
            try
            {
                text = File.ReadAllText(stat);
            }
            catch (IOException)
            {
            }
            // The state follows the command name in parentheses: "123 (dotnet) S ...".
            if (text is null || text[(text.LastIndexOf(')') + 2)..].StartsWith('Z')) return true;
            Thread.Sleep(50);
        }
        while (clock.Elapsed < limit);
        return false;
    }

    public void Dispose()
    {
        foreach (int rank in Enumerable.Range(0, 8))
            if (Pid(rank) is { } pid)
            {
                try
                {
                    using var p = Process.GetProcessById(pid);
                    p.Kill();
                }
                catch (ArgumentException)
                {
                    // Gone already.
                }
                catch (InvalidOperationException)
                {
                }
            }
        try
        {
            if (!_mpirun.HasExited) _mpirun.Kill(entireProcessTree: true);
            _mpirun.WaitForExit(10_000);
        }
        catch (InvalidOperationException)
        {
        }
        _mpirun.Dispose();
    }

    [GeneratedRegex(@"rank (\d+) of \d+: pid (\d+)$")]
    private static partial Regex PidLine();
}
