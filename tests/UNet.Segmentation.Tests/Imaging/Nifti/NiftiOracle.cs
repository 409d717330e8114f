using System.Text.Json;
using UNet.Segmentation.Tests.Shared;

namespace UNet.Segmentation.Tests.Imaging.Nifti;

/// <summary>
/// nibabel (Debian python3-nibabel, run by /usr/bin/python3) through tests/peer/nifti_oracle.py:
/// it writes its variants, and describes files as it reads them. A test that needs it starts with
/// <see cref="Require"/>: without nibabel the test is skipped with the reason, or fails when
/// <c>UNET_REQUIRE_ORACLES=1</c>.
/// </summary>
internal static class NiftiOracle
{
    private static readonly Lazy<string?> Problem = new(Probe);

    public static string Script { get; } = Path.Combine(AppContext.BaseDirectory, "peer", "nifti_oracle.py");

    public static void Require()
    {
        if (Problem.Value is { } problem) Requirement.Skip($"oracle unavailable: {problem}", Requirement.Oracles);
    }

    /// <summary>nibabel writes its variants into <paramref name="folder"/>; their descriptions.</summary>
    public static JsonElement[] Make(string folder) => Run("make", folder);

    /// <summary>How nibabel reads each file (and FILE.raw, FILE.f64 beside it).</summary>
    public static JsonElement[] Describe(IEnumerable<string> files) => Run(["describe", .. files]);

    private static JsonElement[] Run(params string[] args)
    {
        var result = ExternalTools.RunOk(ExternalTools.Python, [Script, .. args]);
        using var document = JsonDocument.Parse(result.Stdout);
        return document.RootElement.EnumerateArray().Select(e => e.Clone()).ToArray();
    }

    private static string? Probe()
    {
        if (!File.Exists(ExternalTools.Python)) return $"{ExternalTools.Python} not found (Debian python3 with python3-nibabel)";
        try
        {
            var result = ExternalTools.Run(ExternalTools.Python, Script, "--check");
            return result.ExitCode == 0 ? null : $"{ExternalTools.Python} cannot import nibabel (Debian python3-nibabel; scripts/setup.sh installs it): {result.Stderr.Trim()}";
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException or TimeoutException)
        {
            return $"{ExternalTools.Python} could not run: {e.Message}";
        }
    }
}
