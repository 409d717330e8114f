namespace UNet.Segmentation.Cli.Tests;

/// <summary>--nproc-per-node: N ranks of the same command, output prefixed per rank, the first failure ends the job.</summary>
public sealed class LauncherTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cli-dp-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void TwoRanksTrainAndOnlyRankZeroReports()
    {
        // An explicit --master-port also checks that the launcher strips its own options (a rank
        // given --master-port without --nproc-per-node would refuse it).
        string port = (20000 + Environment.ProcessId % 20000).ToString();
        var (code, output) = CliProcess.Run("--nproc-per-node", "2", "--master-port", port, "--exec-mode", "train", "--max-steps", "4",
            "--filters", "2", "--batch-size", "1", "--log-every", "1", "--model-dir", _dir);
        Assert.True(code == 0, output);
        Assert.Contains($"launcher: 2 ranks, rendezvous at 127.0.0.1:{port}", output);
        Assert.Contains("[rank 1] rank 1: done", output);
        Assert.Contains("[rank 0] ", output);
        Assert.Contains("rank 0 of 2, Gloo, global batch 2, 2 steps per rank", output.ReplaceLineEndings(" "));
        Assert.DoesNotContain("[rank 1] step", output); // rank 0 alone logs
        Assert.Equal(new[] { "step-00000001.safetensors", "step-00000002.safetensors" },
            Directory.GetFiles(Path.Combine(_dir, "checkpoints")).Select(f => Path.GetFileName(f)!).Order().ToArray());
    }

    [Fact]
    public void AFailingRankEndsTheJobWithItsExitCode()
    {
        var (code, output) = CliProcess.Run("--nproc-per-node", "2", "--exec-mode", "evaluate", "--model-dir", _dir);
        Assert.Equal(2, code);
        Assert.Matches(@"\[rank [01]\] error: --exec-mode evaluate runs in one process; data-parallel launches need a train mode", output);
        Assert.Matches(@"launcher: rank [01] exited with code 2; ending the other ranks", output);
    }
}
