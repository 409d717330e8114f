using System.Runtime.InteropServices;

namespace UNet.Segmentation.Cli;

/// <summary>
/// SIGINT (Ctrl+C) and SIGTERM stop a fit instead of killing the process: the first one cancels
/// <see cref="Token"/> (the trainer finishes the current step and writes its checkpoint); a second
/// one while that checkpoint is written is only acknowledged, so that it cannot cut the save short
/// (the save is atomic anyway: a temporary file renamed). The exit code is the shell's for the
/// first signal: 130 for SIGINT, 143 for SIGTERM.
/// </summary>
internal sealed class StopSignals : IDisposable
{
    private readonly CancellationTokenSource _cancel = new();
    private readonly PosixSignalRegistration[] _registrations;
    private readonly Lock _gate = new();
    private readonly Action<PosixSignal>? _onFirst;

    /// <summary>Listens for SIGINT and SIGTERM; <paramref name="onFirst"/> runs on the first one (after <see cref="Token"/> is cancelled).</summary>
    public StopSignals(Action<PosixSignal>? onFirst = null)
    {
        _onFirst = onFirst;
        _registrations = [PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle), PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle)];
    }

    /// <summary>Cancelled by the first signal.</summary>
    public CancellationToken Token => _cancel.Token;

    /// <summary>The first signal received, or null.</summary>
    public PosixSignal? Received { get; private set; }

    /// <summary>128 + the signal's number: 130 for SIGINT, 143 for SIGTERM (0 when none came).</summary>
    public int ExitCode => Received switch { PosixSignal.SIGINT => 130, PosixSignal.SIGTERM => 143, _ => 0 };

    public static string Name(PosixSignal? signal) => signal switch { PosixSignal.SIGINT => "SIGINT", PosixSignal.SIGTERM => "SIGTERM", _ => "a signal" };

    private void Handle(PosixSignalContext context)
    {
        context.Cancel = true; // never the default: that ends the process at once
        lock (_gate)
        {
            if (Received is { } first)
            {
                Console.Error.WriteLine($"{Name(context.Signal)}: already stopping after {Name(first)}; the checkpoint is being written, the run ends by itself");
                return;
            }
            Received = context.Signal;
        }
        Console.Error.WriteLine($"{Name(context.Signal)}: stopping after the current step and writing its checkpoint");
        _cancel.Cancel();
        _onFirst?.Invoke(context.Signal);
    }

    /// <summary>
    /// Sends <paramref name="signal"/> to the processes whose parent is <paramref name="parent"/>
    /// (read from /proc): the launcher passes a stop on to the ranks that mpirun started.
    /// </summary>
    public static void SendToChildren(int parent, PosixSignal signal)
    {
        int number = signal switch { PosixSignal.SIGINT => 2, PosixSignal.SIGTERM => 15, _ => 0 };
        if (number == 0 || !Directory.Exists("/proc")) return;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid)) continue;
            try
            {
                // /proc/PID/stat: "pid (comm) state ppid ..."; comm may hold spaces and parentheses.
                string stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (int.TryParse(fields[1], out int ppid) && ppid == parent) _ = Kill(pid, number);
            }
            catch (IOException)
            {
                // Gone meanwhile.
            }
            catch (UnauthorizedAccessException)
            {
                // Not ours.
            }
        }
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    public void Dispose()
    {
        foreach (var r in _registrations) r.Dispose();
        _cancel.Dispose();
    }

    /// <summary>The command line that runs this app again with <paramref name="args"/>, quoted for a POSIX shell.</summary>
    public static string CommandLine(IReadOnlyList<string> args)
    {
        string host = Environment.ProcessPath ?? "dotnet";
        var words = new List<string> { host };
        // Run as "dotnet unet.dll": the same dll; run as the apphost: the apphost alone.
        if (Path.GetFileNameWithoutExtension(host).Equals("dotnet", StringComparison.OrdinalIgnoreCase)) words.Add(typeof(StopSignals).Assembly.Location);
        words.AddRange(args);
        return string.Join(" ", words.Select(Quote));
    }

    internal static string Quote(string word) =>
        word.Length > 0 && word.All(c => char.IsAsciiLetterOrDigit(c) || "-_./=:,@%+".Contains(c)) ? word : "'" + word.Replace("'", "'\\''") + "'";
}
