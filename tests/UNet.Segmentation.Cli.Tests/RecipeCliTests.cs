using UNet.Segmentation.Runtime;
using UNet.Segmentation.Training;
using static UNet.Segmentation.Cli.Tests.FoldNoneCliTests;

namespace UNet.Segmentation.Cli.Tests;

/// <summary>--recipe NAME: the library's named recipes as the CLI's defaults, each value overridden by its flag.</summary>
public sealed class RecipeCliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("unet-cli-recipe-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Help_ListsEveryRecipe()
    {
        var (code, output) = CliProcess.Run("--help");
        Assert.Equal(0, code);
        string help = string.Join(' ', output.Split((char[])[' ', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("--recipe", help);
        foreach (var recipe in TrainingRecipes.All) Assert.Contains($"{recipe.Name} ({recipe.Describe()})", help);
    }

    [Fact]
    public void AnUnknownRecipe_IsOneLineListingTheKnownOnes()
    {
        var (code, output) = CliProcess.Run("--recipe", "cpu-fastest");
        Assert.Equal(2, code);
        Assert.Equal("error: --recipe: unknown recipe 'cpu-fastest': the recipes are reference, cpu-fast, cpu-synthetic", output.Trim());
    }

    [Theory]
    [InlineData("--amp --no-amp", "--amp and --no-amp contradict each other: give one")]
    [InlineData("--lr-schedule linear", "--lr-schedule must be constant or cosine (got 'linear')")]
    [InlineData("--lr-warmup-steps -1", "--lr-warmup-steps must be 0 (none) or more (got -1)")]
    [InlineData("--prefetch-batches 0", "--prefetch-batches must be at least 1 (got 0)")]
    public void BadRecipeFlags_AreOneLineErrors(string args, string expected)
    {
        var (code, output) = CliProcess.Run(args.Split(' '));
        Assert.Equal(2, code);
        Assert.Equal($"error: {expected}", output.Trim());
    }

    [Fact]
    public void CpuFast_SetsFiltersPrecisionAndTheWarmupAndConstantRate()
    {
        var (code, output) = CliProcess.Run("--recipe", "cpu-fast", "--exec-mode", "train", "--max-steps", "2", "--batch-size", "1", "--log-every", "1",
            "--model-dir", Path.Combine(_dir, "fast"));
        Assert.True(code == 0, output);
        Assert.Contains("cpu-fast", Row(output, "recipe"));
        Assert.Contains("16 filters", Row(output, "model"));
        // bfloat16 where the CPU has bfloat16 instructions; float32, with a row saying why, where libtorch would emulate it.
        Assert.Contains(CpuBFloat16.IsNative ? "BFloat16" : "Float32", Row(output, "model"));
        if (!CpuBFloat16.IsNative) Assert.Contains("float32", Row(output, "precision"));
        else Assert.DoesNotContain("│ precision", output);
        Assert.Contains("0.001, constant, 100 warm-up steps", Row(output, "learning rate"));
        // Step 1 of a 100-step warm-up: 1/100 of the peak.
        Assert.Contains(" lr 1E-05 ", output.Split('\n').Single(l => l.Contains("step 1/2", StringComparison.Ordinal)));
    }

    [Fact]
    public void Amp_OnACpuWithoutBFloat16Instructions_RunsBFloat16AndWarnsOnce()
    {
        var (code, stdout, stderr) = CliProcess.RunSplit(null, "--recipe", "cpu-fast", "--amp", "--filters", "4", "--exec-mode", "train", "--max-steps", "1",
            "--batch-size", "1", "--model-dir", Path.Combine(_dir, "amp"));
        Assert.True(code == 0, stdout + stderr);
        Assert.Contains("BFloat16", Row(stdout, "model"));
        int warnings = stderr.Split('\n').Count(l => l.StartsWith("warning: --amp: this CPU has no bfloat16 instructions", StringComparison.Ordinal));
        Assert.Equal(CpuBFloat16.IsNative ? 0 : 1, warnings);
    }

    [Fact]
    public void Flags_OverrideTheRecipesValues()
    {
        var (code, output) = CliProcess.Run("--recipe", "cpu-fast", "--filters", "4", "--no-amp", "--lr-schedule", "constant", "--lr-warmup-steps", "0",
            "--learning-rate", "0.002", "--exec-mode", "train", "--max-steps", "1", "--log-every", "1", "--no-augment", "--model-dir", Path.Combine(_dir, "over"));
        Assert.True(code == 0, output);
        Assert.Contains("cpu-fast", Row(output, "recipe"));
        Assert.Contains("4 filters", Row(output, "model"));
        Assert.Contains("Float32", Row(output, "model"));
        Assert.Contains("0.002, constant", Row(output, "learning rate"));
        Assert.Contains(" lr 0.002 ", output.Split('\n').Single(l => l.Contains("step 1/1", StringComparison.Ordinal)));
    }
}
