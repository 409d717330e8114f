using UNet.Segmentation.Model.NnUNet;
using UNet.Segmentation.Tests.Shared;
using UNet.Segmentation.Training;

namespace UNet.Segmentation.Cli.Tests;

/// <summary><c>unet --model nnunet --dim 3</c>: the synthetic MSD task trained through the Trainer; tiny runs (4 filters, 16³ patches). 2-D, evaluate and benchmark: <see cref="NnUNetCliModesTests"/>.</summary>
public sealed class NnUNetCliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("unet-cli-nnunet-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void TrainAndEvaluate_OnTheSyntheticTask_WritesAnNnUNetCheckpointAndResumes()
    {
        string modelDir = Path.Combine(_dir, "m");
        string[] args = ["--model", "nnunet", "--dim", "3", "--exec-mode", "train_and_evaluate", "--max-steps", "4", "--batch-size", "1",
            "--filters", "4", "--patch", "16", "--log-every", "2", "--model-dir", modelDir];
        var (code, output) = CliProcess.Run(args);
        Assert.True(code == 0, output);
        Assert.Contains("synthetic (generated)", output);
        Assert.Contains("DICE", output);
        string checkpoint = Checkpoints.Latest(Path.Combine(modelDir, "checkpoints")) ?? throw new Xunit.Sdk.XunitException($"no checkpoint:\n{output}");
        using (var model = NnUNetModel.Load(checkpoint))
        {
            Assert.Equal(3, model.Options.SpatialDims);
            Assert.Equal(4, model.Options.BaseFilters);
        }
        // Run again with more steps: it resumes from step 4.
        var (again, second) = CliProcess.Run([.. args[..7], "6", .. args[8..]]);
        Assert.True(again == 0, second);
        Assert.Contains("Resumed from", second);
        Assert.Contains("6 steps", second);
    }

    [Fact]
    public void TwoRanks_TrainTheNnUNetTogether()
    {
        Requirement.Mpirun();
        var environment = new Dictionary<string, string?>
        {
            ["OMPI_ALLOW_RUN_AS_ROOT"] = "1", ["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1", ["OMP_NUM_THREADS"] = "1", ["TERM"] = "dumb",
        };
        string modelDir = Path.Combine(_dir, "ranks");
        var (code, output) = CliProcess.RunWith(null, environment, ["--nproc-per-node", "2", "--model", "nnunet", "--exec-mode", "train", "--max-steps", "4",
            "--batch-size", "1", "--filters", "4", "--patch", "16", "--log-every", "1", "--model-dir", modelDir]);
        Assert.True(code == 0, output);
        Assert.Contains("world size 2", output);
        Assert.Contains("step 2/2", output); // 4 steps of the job: 2 per rank
        Assert.NotNull(Checkpoints.Latest(Path.Combine(modelDir, "checkpoints")));
    }

    [Theory]
    [InlineData(new[] { "--model", "nnunet", "--dim", "4" }, "--dim must be 2 (slices) or 3 (volumes) for --model nnunet (got 4)")]
    [InlineData(new[] { "--model", "nnunet", "--exec-mode", "predict" }, "--model nnunet runs --exec-mode train, train_and_evaluate or evaluate (got predict); predict test cases with: unet predict --model nnunet")]
    [InlineData(new[] { "--model", "nnunet", "--exec-mode", "evaluate" }, "no checkpoint in")]
    [InlineData(new[] { "--model", "nnunet", "--exec-mode", "train", "--overlap", "1.5" }, "--overlap: the overlap must be in [0, 1)")]
    [InlineData(new[] { "--model", "vnet" }, "--model must be unet or nnunet")]
    public void UnsupportedChoices_AreOneLineErrors(string[] args, string expected)
    {
        var (code, output) = CliProcess.Run([.. args, "--model-dir", Path.Combine(_dir, "x")]);
        Assert.Equal(2, code);
        Assert.Contains($"error: {expected}", output);
        Assert.DoesNotContain("Exception", output);
    }
}
