using System.Diagnostics.CodeAnalysis;

namespace UNet.Segmentation.Tests.Shared;

/// <summary>
/// What a test needs from the machine and may not find here: a tool (mpirun, libtiff's tools,
/// Pillow, the PyTorch peer, gcc, script(1)), the real ISBI 2012 files, a CUDA device. A test that
/// cannot run ends through <see cref="Skip"/>: xunit reports it SKIPPED with the reason (and
/// <c>scripts/test.sh</c> counts and lists it), never passed. Where the requirement is demanded by
/// an environment variable set to 1 (CI sets <see cref="Peer"/>, <see cref="Oracles"/>,
/// <see cref="Mpi"/> and <see cref="Browser"/>), the same call fails the test instead, so nothing is skipped silently there.
/// </summary>
internal static class Requirement
{
    /// <summary>Demands the Python peer (PyTorch, NumPy at <c>/usr/bin/python3</c>).</summary>
    public const string Peer = "UNET_REQUIRE_PEER";

    /// <summary>Demands the reference tools the image files are checked against (libtiff's tools, Pillow, gcc).</summary>
    public const string Oracles = "UNET_REQUIRE_ORACLES";

    /// <summary>Demands Open MPI's <c>mpirun</c>.</summary>
    public const string Mpi = "UNET_REQUIRE_MPI";

    /// <summary>Demands Debian's chromium for the web sample's browser tests.</summary>
    public const string Browser = "UNET_REQUIRE_BROWSER";

    /// <summary>True when <paramref name="variable"/> is set to 1.</summary>
    public static bool IsDemanded(string variable) => Environment.GetEnvironmentVariable(variable) == "1";

    /// <summary>
    /// Ends the running test as skipped with <paramref name="reason"/>, or fails it when
    /// <paramref name="demandedBy"/> names an environment variable set to 1. The reason is also
    /// sent as an xunit diagnostic message, which <c>dotnet test</c> prints at its default
    /// verbosity (xunit.runner.json: <c>diagnosticMessages</c>) with the test's name.
    /// </summary>
    [DoesNotReturn]
    public static void Skip(string reason, string? demandedBy = null)
    {
        if (demandedBy is not null && IsDemanded(demandedBy)) Assert.Fail($"{reason} ({demandedBy}=1 demands it)");
        string test = TestContext.Current.Test?.TestDisplayName ?? "a test";
        TestContext.Current.SendDiagnosticMessage($"skipped {test}: {reason}");
        Assert.Skip(reason);
    }

    /// <summary>As <see cref="Skip"/> when <paramref name="missing"/> is true; otherwise returns.</summary>
    public static void SkipWhen([DoesNotReturnIf(true)] bool missing, string reason, string? demandedBy = null)
    {
        if (missing) Skip(reason, demandedBy);
    }

    /// <summary>The full path of <paramref name="program"/> in a folder of PATH, or null.</summary>
    public static string? OnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(folder => Path.Combine(folder, program)).FirstOrDefault(File.Exists);

    /// <summary>Skips the test (or fails it, when <c>UNET_REQUIRE_MPI=1</c>) unless mpirun is on PATH.</summary>
    public static void Mpirun() =>
        SkipWhen(OnPath("mpirun") is null, "mpirun is not on PATH (install openmpi-bin and libopenmpi-dev; scripts/setup.sh does)", Mpi);

    /// <summary>The folder of the real ISBI 2012 files named by <c>ISBI2012_DIR</c>; skips the test when it is unset.</summary>
    public static string IsbiDirectory(string what)
    {
        string? dir = Environment.GetEnvironmentVariable("ISBI2012_DIR");
        SkipWhen(string.IsNullOrEmpty(dir), $"ISBI2012_DIR is not set: {what}");
        return dir;
    }
}
