using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace UNet.Segmentation.Cli;

/// <summary>
/// <c>--nproc-per-node N</c>: a one-machine launcher in the manner of torchrun. Starts N copies of
/// this app (the same arguments less the launcher's own) with RANK, LOCAL_RANK, WORLD_SIZE,
/// MASTER_ADDR and MASTER_PORT set, forwards each line they print with a "[rank k]" prefix, and
/// when one exits non-zero ends the others and exits with its code. Unless set already, each rank
/// gets OMP_NUM_THREADS = cores / N (so N ranks do not oversubscribe the CPU) and NO_COLOR.
/// </summary>
internal static class Launcher
{
    private static readonly string[] OwnOptions = ["--nproc-per-node", "--nproc_per_node", "--master-port", "--master_port"];

    public static int Run(int processes, int? masterPort, IReadOnlyList<string> args)
    {
        if (processes < 1) throw new ArgumentException($"--nproc-per-node must be at least 1 (got {processes})");
        if (Environment.GetEnvironmentVariable("WORLD_SIZE") is not null)
            throw new ArgumentException("--nproc-per-node was given inside a data-parallel job (WORLD_SIZE is set): start one launcher per machine");
        int port = masterPort ?? FreePort();
        if (port is < 1 or > 65535) throw new ArgumentException($"--master-port must lie in 1..65535 (got {port})");
        var childArgs = StripOwnOptions(args);
        var children = new List<Process>();
        var sync = new object();
        try
        {
            for (int rank = 0; rank < processes; rank++)
            {
                var start = SelfStartInfo(childArgs);
                start.Environment["RANK"] = rank.ToString();
                start.Environment["LOCAL_RANK"] = rank.ToString();
                start.Environment["WORLD_SIZE"] = processes.ToString();
                start.Environment["MASTER_ADDR"] = "127.0.0.1";
                start.Environment["MASTER_PORT"] = port.ToString();
                // Piped output: no colour codes; and share the cores instead of each rank taking all.
                if (Environment.GetEnvironmentVariable("NO_COLOR") is null) start.Environment["NO_COLOR"] = "1";
                if (Environment.GetEnvironmentVariable("OMP_NUM_THREADS") is null)
                    start.Environment["OMP_NUM_THREADS"] = Math.Max(1, Environment.ProcessorCount / processes).ToString();
                var p = new Process { StartInfo = start, EnableRaisingEvents = true };
                string prefix = $"[rank {rank}] ";
                p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (sync) Console.Out.WriteLine(prefix + e.Data); };
                p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (sync) Console.Error.WriteLine(prefix + e.Data); };
                p.Start();
                p.BeginOutputReadLine();
                p.BeginErrorReadLine();
                children.Add(p);
            }
            lock (sync) Console.Error.WriteLine($"launcher: {processes} ranks, rendezvous at 127.0.0.1:{port}");
            // Wait for the first failure or for all to finish.
            var pending = new HashSet<int>(Enumerable.Range(0, processes));
            while (pending.Count > 0)
            {
                foreach (int rank in pending.ToArray())
                {
                    var p = children[rank];
                    if (!p.WaitForExit(100)) continue;
                    p.WaitForExit(); // drain the output
                    pending.Remove(rank);
                    if (p.ExitCode != 0)
                    {
                        lock (sync) Console.Error.WriteLine($"launcher: rank {rank} exited with code {p.ExitCode}; ending the other ranks");
                        return p.ExitCode;
                    }
                }
            }
            return 0;
        }
        finally
        {
            foreach (var p in children)
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

    /// <summary>The arguments less --nproc-per-node and --master-port (with their values, in either spelling, "=value" included).</summary>
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

    private static ProcessStartInfo SelfStartInfo(IEnumerable<string> args)
    {
        string host = Environment.ProcessPath ?? throw new InvalidOperationException("cannot tell this process's executable");
        var start = new ProcessStartInfo(host) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        // Run as "dotnet unet.dll": start the same dll; run as the apphost: start it directly.
        if (Path.GetFileNameWithoutExtension(host).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
            start.ArgumentList.Add(typeof(Launcher).Assembly.Location);
        foreach (var a in args) start.ArgumentList.Add(a);
        return start;
    }

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
