using System.Diagnostics;
using UNet.Segmentation.Imaging;
using UNet.Segmentation.Model;
using UNet.Segmentation.Tests.Shared;
using static TorchSharp.torch;

namespace UNet.Segmentation.Cli.Tests;

/// <summary>
/// <c>unet predict</c> shared by MPI ranks (mpirun and --nproc-per-node): the files of one process,
/// each rank its own lines, and a rank killed mid-way resumed to the same bytes.
/// </summary>
public sealed class PredictRanksCliTests(ITestOutputHelper log) : IDisposable
{
    private static readonly UNetOptions Small = UNetOptions.Reference with { BaseFilters = 4, Depth = 2, InputSize = 44, Initialization = WeightInit.PyTorchDefault };
    private const int Pages = 16;   // batches of 4: rank 0 pages 1-8, rank 1 pages 9-16
    private readonly string _dir = Directory.CreateTempSubdirectory("cli-ranks-").FullName;

    private static readonly Dictionary<string, string?> Mpi = new()
    {
        ["OMPI_ALLOW_RUN_AS_ROOT"] = "1", ["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1", ["OMP_NUM_THREADS"] = "1", ["TERM"] = "dumb",
    };

    private static readonly string[] TwoRanks = ["mpirun", "--oversubscribe", "--bind-to", "none", "-np", "2"];

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private (string Checkpoint, string Volume) Prepare(int height = 90, int width = 100)
    {
        manual_seed(6);
        string checkpoint = Path.Combine(_dir, "model.safetensors");
        using (var model = new UNetModel(Small)) model.Save(checkpoint);
        var pixels = new byte[Pages * height * width];
        new Random(4).NextBytes(pixels);
        string volume = Path.Combine(_dir, "stack.tif");
        Tiff.Write(volume, new TiffVolume(Pages, height, width, pixels));
        return (checkpoint, volume);
    }

    private static string[] Predict(string checkpoint, string input, string output, params string[] more) =>
        ["predict", "--checkpoint", checkpoint, "--input", input, "--output-dir", output, "--tiled", "--threads", "1", .. more];

    private string Out(string name) => Path.Combine(_dir, name);

    [Fact]
    public void TwoMpiRanksWriteTheFilesOfOneProcessAndEachPrintsItsOwnLines()
    {
        Requirement.Mpirun();
        var (checkpoint, volume) = Prepare();
        var (code, output) = CliProcess.Run(Predict(checkpoint, volume, Out("one")));
        Assert.True(code == 0, output);
        (code, output) = CliProcess.RunWith(TwoRanks, Mpi, Predict(checkpoint, volume, Out("two")));
        log.WriteLine(output);
        Assert.True(code == 0, output);
        Assert.Contains("[rank 0] engine: TorchSharp", output);
        Assert.Contains("rank 1 of 2", output);
        Assert.Contains("[rank 1] page 8/8", output);  // each rank's progress counts its own share
        Assert.Contains($"[rank 0] {volume}: {Pages} page(s) of 100x90, shared by 2 ranks", output);
        AssertSameFiles(Out("one"), Out("two"));
        Assert.False(Directory.Exists(Out("two/stack-probabilities.tif.pages")), "the staging folder is removed");
    }

    [Fact]
    public void NprocPerNodeSharesAFolderOfSlicesWithPages()
    {
        Requirement.Mpirun();
        var (checkpoint, volume) = Prepare();
        var stack = Tiff.Read(volume);
        string slices = Directory.CreateDirectory(Out("slices")).FullName;
        for (int p = 0; p < Pages; p++) Png.WriteGray(Path.Combine(slices, $"z{p + 1}.png"), stack.PageUInt8(p).ToArray(), 100, 90);
        var (code, output) = CliProcess.Run(Predict(checkpoint, slices, Out("one"), "--pages"));
        Assert.True(code == 0, output);
        (code, output) = CliProcess.RunWith(null, Mpi, Predict(checkpoint, slices, Out("two"), "--pages", "--nproc-per-node", "2"));
        log.WriteLine(output);
        Assert.True(code == 0, output);
        Assert.Contains("launcher: 2 ranks through", output);
        Assert.Contains("shared by 2 ranks", output);
        AssertSameFiles(Out("one"), Out("two"));
        Assert.True(File.Exists(Out("two/z16-mask.tif")));
    }

    [Fact]
    public void ARankKilledMidWay_TheSameCommandResumesToTheBytesOfOneProcess()
    {
        Requirement.Mpirun();
        var (checkpoint, volume) = Prepare(240, 260);
        var (code, output) = CliProcess.Run(Predict(checkpoint, volume, Out("one")));
        Assert.True(code == 0, output);
        string staged = Out("two/stack-probabilities.tif.pages");
        // SIGKILL rank 1 once its first batch (pages 9-12) is staged and rank 0 has staged its first
        // page (on a slow CPU rank 1 can stage page 9 before rank 0's page 1): mpirun ends the job
        int exit = KillRankWhen(1, Predict(checkpoint, volume, Out("two")),
            () => File.Exists(Path.Combine(staged, "page-00009-probabilities.tif")) && File.Exists(Path.Combine(staged, "page-00001-mask.tif")));
        Assert.NotEqual(0, exit);
        Assert.False(File.Exists(Out("two/stack-probabilities.tif")), "no stack under its final name");
        Assert.True(File.Exists(Path.Combine(staged, "page-00001-mask.tif")), "rank 0's staged pages are kept");

        (code, output) = CliProcess.RunWith(TwoRanks, Mpi, Predict(checkpoint, volume, Out("two")));
        log.WriteLine(output);
        Assert.True(code == 0, output);
        Assert.Matches(@"\[rank 0\] .*kept from an earlier run", output);  // rank 0 had staged at least page 1
        AssertSameFiles(Out("one"), Out("two"));
    }

    private static void AssertSameFiles(string expected, string actual)
    {
        var names = Directory.GetFiles(expected, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(expected, f)).Order().ToArray();
        Assert.NotEmpty(names);
        Assert.Equal(names, Directory.GetFiles(actual, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(actual, f)).Order());
        foreach (string name in names)
            Assert.True(File.ReadAllBytes(Path.Combine(expected, name)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(actual, name))), $"{name} differs");
    }

    /// <summary>Starts the 2-rank job, SIGKILLs rank <paramref name="rank"/>'s process once <paramref name="ready"/>, and returns mpirun's exit code.</summary>
    private static int KillRankWhen(int rank, string[] args, Func<bool> ready)
    {
        using var p = CliProcess.StartUntil(TwoRanks, Mpi, args, ready);
        int pid = RankProcess(rank, args[Array.IndexOf(args, "--output-dir") + 1]);
        Process.GetProcessById(pid).Kill(); // SIGKILL: no handler runs
        Assert.True(p.WaitForExit(TimeSpan.FromMinutes(2)), "mpirun did not end after a rank was killed");
        return p.ExitCode;
    }

    /// <summary>The pid of the rank whose environment says OMPI_COMM_WORLD_RANK=<paramref name="rank"/> and whose command line names <paramref name="marker"/>.</summary>
    private static int RankProcess(int rank, string marker)
    {
        foreach (string dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid)) continue;
            try
            {
                string command = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                if (!command.Contains(marker, StringComparison.Ordinal) || !command.Contains("unet.dll", StringComparison.Ordinal) || command.StartsWith("mpirun", StringComparison.Ordinal)) continue;
                string environment = File.ReadAllText(Path.Combine(dir, "environ"));
                if (environment.Split('\0').Contains($"OMPI_COMM_WORLD_RANK={rank}")) return pid;
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
        throw new InvalidOperationException($"no process of rank {rank} found");
    }
}
