using System.Text.Json;
using UNet.Segmentation.Serialization;
using UNet.Segmentation.Training;

namespace UNet.Segmentation.Cli.Tests;

/// <summary>
/// --fold none (the reference writes None): train on every slice with no validation, as NVIDIA
/// makes its final model; the modes and flags that need validation slices are one-line errors.
/// Tiny runs: 4 filters, the synthetic data.
/// </summary>
public sealed class FoldNoneCliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("unet-cli-foldnone-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static void AssertOneLineError(int code, string output, string expected)
    {
        Assert.Equal(2, code);
        Assert.Contains($"error: {expected}", output);
        Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.DoesNotContain("Exception", output);
    }

    /// <summary>The summary table's row of <paramref name="key"/> (its first line).</summary>
    internal static string Row(string output, string key) =>
        output.Split('\n').FirstOrDefault(l => l.StartsWith($"│ {key} ", StringComparison.Ordinal)) ?? throw new Xunit.Sdk.XunitException($"no row '{key}' in:\n{output}");

    [Theory]
    [InlineData("none", "evaluate")]
    [InlineData("None", "evaluate")]
    [InlineData("NONE", "train_and_evaluate")]
    [InlineData("None", "train_and_evaluate")]
    public void EverySpellingOfNone_IsNone_AndTheEvaluateModesRefuseIt(string none, string mode)
    {
        var (code, output) = CliProcess.Run("--fold", none, "--exec-mode", mode, "--model-dir", Path.Combine(_dir, "m"));
        AssertOneLineError(code, output, $"--fold none trains on every slice and leaves none to evaluate on: --exec-mode {mode} needs a fold 0..4");
        Assert.False(Directory.Exists(Path.Combine(_dir, "m")));
    }

    [Fact]
    public void TheFlagsThatEvaluateDuringTraining_AreRefusedInOneLineNamingThem()
    {
        var (code, output) = CliProcess.Run("--fold", "none", "--exec-mode", "train", "--evaluate-every", "5", "--keep-best", "--early-stopping-patience", "2", "--challenge-scores");
        AssertOneLineError(code, output, "--evaluate-every, --early-stopping-patience, --keep-best, --challenge-scores need validation slices, and --fold none leaves none: drop them or give a fold 0..4");
        (code, output) = CliProcess.Run("--fold", "None", "--exec-mode", "train_and_predict", "--keep-best");
        AssertOneLineError(code, output, "--keep-best needs validation slices, and --fold none leaves none: drop it or give a fold 0..4");
    }

    [Theory]
    [InlineData("nine", "--fold must be a fold 0..4, or none to train on every slice (got 'nine')")]
    [InlineData("-1", "--fold must lie in 0..4 (got -1), or be none to train on every slice")]
    [InlineData("no", "--fold must be a fold 0..4, or none to train on every slice (got 'no')")]
    public void OtherValues_AreRefused(string fold, string expected)
    {
        var (code, output) = CliProcess.Run("--fold", fold);
        AssertOneLineError(code, output, expected);
    }

    [Fact]
    public void ATinyTrainRun_TrainsOnAll30Slices_LeavesACheckpointOfFoldNone_NoEvaluation_AndResumes()
    {
        string model = Path.Combine(_dir, "all");
        var (code, output) = CliProcess.Run("--fold", "None", "--exec-mode", "train", "--max-steps", "2", "--log-every", "1", "--filters", "4", "--model-dir", model);
        Assert.True(code == 0, output);
        Assert.Contains("none: all 30 items train, none validates", Row(output, "fold"));
        Assert.Contains("cpu-synthetic", Row(output, "recipe")); // no --data-dir, no --recipe: the synthetic default
        Assert.DoesNotContain("│ evaluation", output);

        string checkpoint = Path.Combine(model, "checkpoints", "step-00000002.safetensors");
        Assert.True(File.Exists(checkpoint), output);
        Assert.Equal("none", Safetensors.ReadHeader(checkpoint).Metadata[Checkpoints.FoldKey]);
        // No evaluation output: no metrics.json, no validation maps, only "train" lines in the metrics file.
        Assert.False(File.Exists(Path.Combine(model, "metrics.json")));
        Assert.False(Directory.Exists(Path.Combine(model, "validation")));
        Assert.All(File.ReadLines(Path.Combine(model, "metrics.jsonl")),
            l => Assert.Equal("train", JsonDocument.Parse(l).RootElement.GetProperty("kind").GetString()));

        // The same command with more steps resumes the fold-none checkpoint.
        (code, output) = CliProcess.Run("--fold", "none", "--exec-mode", "train", "--max-steps", "3", "--log-every", "1", "--filters", "4", "--model-dir", model);
        Assert.True(code == 0, output);
        Assert.Contains("at step 2", output.Split('\n').Single(l => l.Contains("Resumed from", StringComparison.Ordinal)));
        Assert.DoesNotContain("was trained on fold", output);
        Assert.Equal("none", Safetensors.ReadHeader(Path.Combine(model, "checkpoints", "step-00000003.safetensors")).Metadata[Checkpoints.FoldKey]);
    }
}
