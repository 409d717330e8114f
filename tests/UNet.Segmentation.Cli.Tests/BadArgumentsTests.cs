using TorchSharp;
using UNet.Segmentation.Model;
using UNet.Segmentation.Training;
using UNet.Segmentation.Tests.Shared;

namespace UNet.Segmentation.Cli.Tests;

/// <summary>Each user error ends with one clear message, exit code 2 and no stack trace.</summary>
public sealed class BadArgumentsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static void AssertCleanError(int exitCode, string output, string expected)
    {
        Assert.Equal(2, exitCode);
        Assert.Contains("error:", output);
        Assert.Contains(expected, output.ReplaceLineEndings(" "));
        Assert.DoesNotContain("   at ", output); // no stack trace
        Assert.DoesNotContain("Exception", output);
    }

    [Fact]
    public void FoldOutOfRange()
    {
        var (code, output) = CliProcess.Run("--fold", "7");
        AssertCleanError(code, output, "--fold must lie in 0..4 (got 7)");
    }

    [Theory]
    [InlineData("gpu", "'gpu' is not a device: use cpu, cuda or cuda:N")]
    [InlineData("cuda:x", "'cuda:x' is not a device")]
    public void BadDevice(string device, string expected)
    {
        var (code, output) = CliProcess.Run("--device", device);
        AssertCleanError(code, output, expected);
    }

    [Fact]
    public void CudaOnAMachineOrBackendWithoutIt_SaysSo()
    {
        Requirement.SkipWhen(torch.cuda.is_available(), "CUDA is available here, so --device cuda is accepted");
        var (code, output) = CliProcess.Run("--device", "cuda");
        AssertCleanError(code, output, "CUDA is not available");
    }

    [Fact]
    public void Tf32WithoutCuda()
    {
        var (code, output) = CliProcess.Run("--tf32");
        AssertCleanError(code, output, "--tf32 needs --device cuda");
    }

    [Fact]
    public void MissingDataDirectory()
    {
        string missing = Path.Combine(_dir, "no-such-data");
        var (code, output) = CliProcess.Run("--data-dir", missing);
        AssertCleanError(code, output, "does not exist");
        Assert.Contains("no-such-data", output);
    }

    [Fact]
    public void UnknownExecMode_AcceptingTheUnderscoreSpelling()
    {
        var (code, output) = CliProcess.Run("--exec_mode", "fly");
        AssertCleanError(code, output, "--exec-mode must be one of train, evaluate, train_and_evaluate, predict, train_and_predict");
    }

    [Fact]
    public void CheckpointOfAnotherArchitecture()
    {
        // A real checkpoint of a 4-filter model in the model dir; the CLI builds an 8-filter one.
        string modelDir = Path.Combine(_dir, "model");
        var options = UNetOptions.Reference with { BaseFilters = 4 };
        using (var model = new UNetModel(options))
        using (var adam = torch.optim.Adam(model.parameters()))
            Checkpoints.Save(Path.Combine(modelDir, "checkpoints"), model, adam, new CheckpointState(1, 1, new LossScalerState(1, 0, 0), 0));
        var (code, output) = CliProcess.Run("--exec-mode", "train", "--model-dir", modelDir, "--filters", "8", "--max-steps", "1");
        AssertCleanError(code, output, "was written for another architecture");
    }

    [Fact]
    public void CheckpointThatIsNotOne()
    {
        string bogus = Path.Combine(_dir, "bogus.safetensors");
        File.WriteAllText(bogus, "not a checkpoint");
        var (code, output) = CliProcess.Run("--exec-mode", "evaluate", "--checkpoint", bogus);
        AssertCleanError(code, output, "bogus.safetensors");
    }

    [Fact]
    public void Help_ListsTheReferenceFlags()
    {
        var (code, output) = CliProcess.Run("--help");
        Assert.Equal(0, code);
        foreach (var flag in new[] { "--exec-mode", "--data-dir", "--model-dir", "--batch-size", "--max-steps", "--augment", "--amp", "--device", "--checkpoint", "show-batch", "score" })
            Assert.Contains(flag, output);
    }
}
