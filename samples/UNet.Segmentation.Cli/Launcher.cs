using System.Diagnostics;
using System.Globalization;
using UNet.Segmentation.Distributed.Mpi;

namespace UNet.Segmentation.Cli;

/// <summary>
/// <c>--nproc-per-node N</c>: starts N ranks of this app on this machine through Open MPI's
/// <c>mpirun</c> (the same arguments less the launcher's own); each rank prefixes its lines
/// "[rank k]" (<see cref="RankOutput"/>) and mpirun's own lines pass through. Each rank
/// gets OMP_NUM_THREADS = cores / N unless it is set, so N ranks share the cores instead of
/// each taking all. When one rank fails, mpirun ends the others; the exit code is mpirun's.
/// </summary>
internal static class Launcher
{
    /// <summary>Set for the ranks it starts: they leave the resume command to the launcher.</summary>
    public const string LaunchedVariable = "UNET_LAUNCHER";

    private static readonly string[] OwnOptions = ["--nproc-per-node", "--nproc_per_node"];

    public static int Run(int processes, IReadOnlyList<string> args)
    {
        if (processes < 1) throw new ArgumentException($"--nproc-per-node must be at least 1 (got {processes})");
        if (MpiWorld.IsLaunchedByMpi())
            throw new ArgumentException("--nproc-per-node was given inside an MPI job: start the ranks either with mpirun or with --nproc-per-node, not both");
        MpiWorld.ThrowIfUnsupported();   // Windows: MS-MPI, an ABI the binding does not speak
        string mpirun = Which("mpirun")
            ?? throw new ArgumentException("--nproc-per-node needs Open MPI's mpirun on PATH (Debian/Ubuntu: apt install openmpi-bin libopenmpi-dev)");
        var start = new ProcessStartInfo(mpirun) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        string threads = Environment.GetEnvironmentVariable("OMP_NUM_THREADS") ?? Math.Max(1, Environment.ProcessorCount / processes).ToString(CultureInfo.InvariantCulture);
        foreach (var a in (string[])["--oversubscribe", "--bind-to", "none", "-np", processes.ToString(CultureInfo.InvariantCulture)])
            start.ArgumentList.Add(a);
        string host = Environment.ProcessPath ?? throw new InvalidOperationException("cannot tell this process's executable");
        start.ArgumentList.Add(host);
        // Run as "dotnet unet.dll": start the same dll; run as the apphost: start it directly.
        if (Path.GetFileNameWithoutExtension(host).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
            start.ArgumentList.Add(typeof(Launcher).Assembly.Location);
        foreach (var a in StripOwnOptions(args)) start.ArgumentList.Add(a);
        start.Environment["OMP_NUM_THREADS"] = threads;
        start.Environment[LaunchedVariable] = "1";
        // mpirun gives the ranks a pseudo-terminal: no colour codes, no terminal control codes.
        start.Environment["NO_COLOR"] = "1";
        start.Environment["TERM"] = "dumb";
        if (Environment.UserName == "root" && Environment.GetEnvironmentVariable("OMPI_ALLOW_RUN_AS_ROOT") is null)
        {
            // Open MPI refuses root unless told; a container's root launching its own ranks is the usual case.
            start.Environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1";
            start.Environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1";
        }
        Console.Error.WriteLine($"launcher: {processes} ranks through {mpirun}, {threads} thread(s) each");
        // Open MPI 4.1's mpirun does not pass SIGINT or SIGTERM on to the ranks before they end (seen with
        // 4.1.4), and the ranks are not in the terminal's process group: the launcher sends the signal to
        // them itself (mpirun's children), stays alive until mpirun ends, and prints the resume command.
        using var process = new Process { StartInfo = start };
        using var signals = new StopSignals(signal => StopSignals.SendToChildren(process.Id, signal));
        var sync = new object();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (sync) Console.Out.WriteLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (sync) Console.Error.WriteLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        process.WaitForExit();
        if (signals.Received is not null)
        {
            Console.WriteLine($"launcher: stopped by {StopSignals.Name(signals.Received)}; resume with (in {Environment.CurrentDirectory}):");
            Console.WriteLine($"  {StopSignals.CommandLine(args)}");
            return signals.ExitCode;
        }
        if (process.ExitCode != 0) Console.Error.WriteLine($"launcher: mpirun exited with code {process.ExitCode}");
        return process.ExitCode;
    }

    /// <summary>The arguments less --nproc-per-node and its value, in either spelling, "=value" included.</summary>
    internal static List<string> StripOwnOptions(IReadOnlyList<string> args)
    {
        var kept = new List<string>();
        for (int i = 0; i < args.Count; i++)
        {
            string a = args[i];
            if (OwnOptions.Contains(a)) { i++; continue; }
            if (OwnOptions.Any(o => a.StartsWith(o + "=", StringComparison.Ordinal))) continue;
            kept.Add(a);
        }
        return kept;
    }

    private static string? Which(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Where(d => d.Length > 0).Select(d => Path.Combine(d, program)).FirstOrDefault(File.Exists);
}
