using System.Diagnostics;
using UNet.Segmentation.Tests.Shared;

namespace UNet.Segmentation.Tests.Imaging;

/// <summary>What one run of an external program produced.</summary>
internal sealed record ToolResult(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";
}

/// <summary>
/// The reference implementations our image files are checked against: libtiff's command-line tools
/// (Debian libtiff-tools) and Pillow (Debian python3-pil, run by /usr/bin/python3). A test that
/// needs one starts with <c>ExternalTools.Require("tiffinfo")</c> or <c>ExternalTools.RequirePil()</c>:
/// when it is missing, the test is reported skipped with the reason, unless
/// <c>UNET_REQUIRE_ORACLES=1</c> (set in CI) makes it fail (<see cref="Requirement"/>).
/// </summary>
internal static class ExternalTools
{
    public const string Python = "/usr/bin/python3";

    private static readonly Lazy<string?> PilProblem = new(ProbePil);

    public static bool Required => Requirement.IsDemanded(Requirement.Oracles);

    /// <summary>The full path of a program on PATH (or in /usr/bin), or null.</summary>
    public static string? Find(string program)
    {
        var folders = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries).Append("/usr/bin");
        return folders.Select(f => Path.Combine(f, program)).FirstOrDefault(File.Exists);
    }

    /// <summary>Returns when every libtiff tool named is installed; otherwise skips the test (or fails it, when required).</summary>
    public static void Require(params string[] programs)
    {
        foreach (var program in programs)
        {
            if (Find(program) is null)
                Missing($"{program} not found (Debian libtiff-tools; scripts/setup.sh installs it)");
        }
    }

    /// <summary>Returns when /usr/bin/python3 imports PIL; otherwise skips the test (or fails it, when required).</summary>
    public static void RequirePil()
    {
        if (PilProblem.Value is { } problem) Missing(problem);
    }

    /// <summary>
    /// For a test that checks Pillow's files besides others of its own: true when /usr/bin/python3
    /// imports PIL; otherwise writes why to <paramref name="output"/> and returns false, or fails
    /// the test when required.
    /// </summary>
    public static bool HasPil(ITestOutputHelper output)
    {
        if (PilProblem.Value is not { } problem) return true;
        if (Required) Assert.Fail($"oracle unavailable: {problem} ({Requirement.Oracles}=1 demands it)");
        output.WriteLine($"oracle unavailable, that part not run: {problem}");
        return false;
    }

    public static ToolResult Run(string program, params string[] args)
    {
        var info = new ProcessStartInfo(Find(program) ?? program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {program}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', args)} did not finish");
        }
        return new ToolResult(process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Runs a program and fails the test, with its output, when it exits non-zero.</summary>
    public static ToolResult RunOk(string program, params string[] args)
    {
        var result = Run(program, args);
        Assert.True(result.ExitCode == 0, $"{program} {string.Join(' ', args)}: {result}");
        return result;
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void Missing(string why) => Requirement.Skip($"oracle unavailable: {why}", Requirement.Oracles);

    private static string? ProbePil()
    {
        if (!File.Exists(Python)) return $"{Python} not found (Debian python3 with python3-pil)";
        try
        {
            var result = Run(Python, "-c", "import PIL.Image");
            return result.ExitCode == 0 ? null : $"{Python} cannot import PIL (Debian python3-pil): {result.Stderr.Trim()}";
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException or TimeoutException)
        {
            return $"{Python} could not run: {e.Message}";
        }
    }
}
