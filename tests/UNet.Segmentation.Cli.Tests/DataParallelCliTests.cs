using UNet.Segmentation.Serialization;
using UNet.Segmentation.Tests.Shared;

namespace UNet.Segmentation.Cli.Tests;

/// <summary>
/// The CLI as a data-parallel job: under mpirun, through --nproc-per-node, and the errors a user
/// meets without Open MPI. Tiny runs (4 filters, synthetic data, one thread per rank).
/// </summary>
public sealed class DataParallelCliTests(ITestOutputHelper log) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("unet-cli-dp-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly Dictionary<string, string?> Mpi = new()
    {
        ["OMPI_ALLOW_RUN_AS_ROOT"] = "1", ["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1", ["OMP_NUM_THREADS"] = "1", ["TERM"] = "dumb",
    };

    private string[] Train(long steps) =>
        ["--exec-mode", "train", "--max-steps", steps.ToString(), "--log-every", "2", "--filters", "4", "--model-dir", Path.Combine(_dir, "model")];

    [Fact]
    public void MpirunOfTheCliTrainsAndRankZeroAloneWritesTheCheckpoints()
    {
        Requirement.Mpirun();
        var (code, output) = CliProcess.RunWith(["mpirun", "--oversubscribe", "--bind-to", "none", "-np", "2"], Mpi, Train(8));
        log.WriteLine(output);
        Assert.True(code == 0, output);
        Assert.Contains("[rank 0] ", output);
        Assert.Matches(@"\[rank 0\] \S+ rank 0: world size 2 over MPI \(Open MPI", output);
        Assert.Matches(@"\[rank 1\] \S+ rank 1: world size 2 over MPI \(Open MPI", output);
        Assert.Contains("[rank 1] trained 4 steps; rank 0 writes the checkpoint", output);
        var checkpointLines = output.Split('\n').Where(l => l.Contains(" checkpoint /", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(checkpointLines);
        Assert.All(checkpointLines, l => Assert.StartsWith("[rank 0] ", l));
        string dir = Path.Combine(_dir, "model", "checkpoints");
        string latest = Directory.GetFiles(dir).Order().Last();
        Assert.EndsWith("step-00000004.safetensors", latest); // 8 steps over 2 ranks: 4 each
        using var file = Safetensors.Load(latest);
        Assert.Equal("2", file.Metadata["world_size"]);
    }

    [Fact]
    public void NprocPerNodeStartsTheRanksThroughMpirunAndPrefixesTheirLines()
    {
        Requirement.Mpirun();
        var (code, output) = CliProcess.RunWith(null, Mpi, ["--nproc-per-node", "2", .. Train(4)]);
        log.WriteLine(output);
        Assert.True(code == 0, output);
        Assert.Contains("launcher: 2 ranks through", output);
        Assert.Matches(@"\[rank 0\] \S+ rank 0: world size 2", output);
        Assert.Matches(@"\[rank 1\] \S+ rank 1: world size 2", output);
        Assert.Matches(@"\[rank 0\] │ data parallel │ 2 rank\(s\)", output);
    }

    [Fact]
    public void NprocPerNodeWithoutMpirunOrWithZeroRanksIsOneClearLine()
    {
        var (code, output) = CliProcess.RunWith(null, new Dictionary<string, string?> { ["PATH"] = "/nonexistent" }, ["--nproc-per-node", "2", .. Train(4)]);
        Assert.Equal(2, code);
        Assert.Equal("error: --nproc-per-node needs Open MPI's mpirun on PATH (Debian/Ubuntu: apt install openmpi-bin libopenmpi-dev)", output.Trim());
        (code, output) = CliProcess.Run(["--nproc-per-node", "0", .. Train(4)]);
        Assert.Equal(2, code);
        Assert.Equal("error: --nproc-per-node must be at least 1 (got 0)", output.Trim());
    }

    [Fact]
    public void AMissingLibmpiUnderAnMpiLaunchIsOneClearLine()
    {
        // A launcher's variables without a loadable libmpi: the rank says what is missing and how to install it.
        var env = new Dictionary<string, string?> { ["OMPI_COMM_WORLD_SIZE"] = "2", ["UNET_MPI_LIBRARY"] = Path.Combine(_dir, "libmpi.so.40") };
        var (code, output) = CliProcess.RunWith(null, env, Train(4));
        Assert.Equal(2, code);
        Assert.Equal($"error: MPI is not available: could not load {Path.Combine(_dir, "libmpi.so.40")}. Install Open MPI (Debian/Ubuntu: apt install openmpi-bin libopenmpi-dev), or set UNET_MPI_LIBRARY to the path of its libmpi.so",
            output.Trim());
    }
}
