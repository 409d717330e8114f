using System.Diagnostics;
using UNet.Segmentation.Tests.Shared;

namespace UNet.Segmentation.Tests.Peer;

/// <summary>What one run of a peer script produced.</summary>
public sealed record PeerResult(int ExitCode, string Stdout, string Stderr);

/// <summary>A peer script exited with a non-zero status, or ran past its time limit.</summary>
public sealed class PythonPeerException(string message) : Exception(message);

/// <summary>
/// Runs the Python peer scripts (tests/peer/*.py, copied to <c>peer/</c> beside the test
/// assembly) with the Python that has PyTorch: <c>/usr/bin/python3</c> (Debian's python3-torch),
/// or the interpreter named by <c>UNET_PEER_PYTHON</c>.
/// </summary>
/// <remarks>
/// Tests that need the peer start with <c>PythonPeer.Require();</c>: when the peer is missing they
/// are reported skipped with the reason, unless <c>UNET_REQUIRE_PEER=1</c> (set in CI), which
/// turns a missing peer into a failure (<see cref="Requirement"/>).
/// </remarks>
public static class PythonPeer
{
    /// <summary>The interpreter used.</summary>
    public static string Python { get; } =
        Environment.GetEnvironmentVariable("UNET_PEER_PYTHON") is { Length: > 0 } p ? p : "/usr/bin/python3";

    /// <summary>The folder holding the peer scripts.</summary>
    public static string ScriptDirectory { get; } = Path.Combine(AppContext.BaseDirectory, "peer");

    /// <summary>How long one run may take by default.</summary>
    public static TimeSpan DefaultTimeout { get; } = TimeSpan.FromMinutes(5);

    private static readonly Lazy<string?> Unavailable = new(Probe, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>True when the interpreter runs and imports torch (checked once per process).</summary>
    public static bool IsAvailable => Unavailable.Value is null;

    /// <summary>Why the peer cannot run, or null when it can.</summary>
    public static string? UnavailableReason => Unavailable.Value;

    /// <summary>
    /// Returns when the peer can run. Otherwise skips the test with the reason, or fails it when
    /// <c>UNET_REQUIRE_PEER=1</c>.
    /// </summary>
    public static void Require() =>
        Requirement.SkipWhen(!IsAvailable, $"Python peer unavailable: {UnavailableReason}", Requirement.Peer);

    /// <summary>Runs <c>peer/<paramref name="script"/></c> with arguments and returns its stdout; throws <see cref="PythonPeerException"/> with its stderr when it fails.</summary>
    public static string Run(string script, params string[] args) => Run(DefaultTimeout, script, args);

    /// <summary>As <see cref="Run(string, string[])"/>, with a time limit.</summary>
    public static string Run(TimeSpan timeout, string script, params string[] args)
    {
        var result = Invoke(timeout, script, args);
        if (result.ExitCode != 0)
            throw new PythonPeerException(
                $"{script} {string.Join(' ', args)} exited with {result.ExitCode}\n--- stderr ---\n{result.Stderr}\n--- stdout ---\n{Tail(result.Stdout, 4000)}");
        return result.Stdout;
    }

    /// <summary>Runs a peer script and returns its exit code, stdout and stderr, whatever the exit code.</summary>
    public static PeerResult Invoke(string script, params string[] args) => Invoke(DefaultTimeout, script, args);

    /// <summary>As <see cref="Invoke(string, string[])"/>, with a time limit.</summary>
    public static PeerResult Invoke(TimeSpan timeout, string script, params string[] args)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(script);
        string path = Path.Combine(ScriptDirectory, script);
        if (!File.Exists(path)) throw new FileNotFoundException($"no peer script {path} (is it under tests/peer/?)", path);
        return Execute(timeout, [path, .. args]);
    }

    private static PeerResult Execute(TimeSpan timeout, IReadOnlyList<string> args)
    {
        var start = new ProcessStartInfo(Python)
        {
            WorkingDirectory = ScriptDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
            CreateNoWindow = true,
        };
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment["PYTHONDONTWRITEBYTECODE"] = "1";
        start.Environment["PYTHONIOENCODING"] = "utf-8";
        using var process = Process.Start(start) ?? throw new PythonPeerException($"could not start {Python}");
        // Read both pipes concurrently so neither can fill up and stall the child.
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // It exited between the wait and the kill.
            }
            process.WaitForExit();
            throw new PythonPeerException($"{Python} {string.Join(' ', args)} ran past {timeout}\n--- stderr ---\n{stderr.Result}");
        }
        process.WaitForExit(); // flushes the redirected streams
        return new PeerResult(process.ExitCode, stdout.Result, stderr.Result);
    }

    private static string? Probe()
    {
        try
        {
            if (Path.IsPathRooted(Python) && !File.Exists(Python)) return $"{Python} does not exist";
            if (!Directory.Exists(ScriptDirectory)) return $"the peer scripts are missing ({ScriptDirectory})";
            var r = Execute(TimeSpan.FromMinutes(2), ["-c", "import torch; print(torch.__version__)"]);
            return r.ExitCode == 0 ? null : $"{Python} cannot import torch (exit {r.ExitCode}): {Tail(r.Stderr, 2000).Trim()}";
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or IOException or PythonPeerException or InvalidOperationException)
        {
            return $"{Python} could not run: {e.Message}";
        }
    }

    private static string Tail(string text, int max) => text.Length <= max ? text : "..." + text[^max..];
}
