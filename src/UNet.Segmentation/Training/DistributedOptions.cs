using System.Collections;
using System.Globalization;
using UNet.Segmentation.Torch.Distributed;

namespace UNet.Segmentation.Training;

/// <summary>
/// Where this process stands in a data-parallel job, with torchrun's conventions: one process per
/// device, rank <see cref="Rank"/> of <see cref="WorldSize"/>, meeting at rank 0's TCP store at
/// <see cref="MasterAddress"/>:<see cref="MasterPort"/> (or in <see cref="StoreFile"/>).
/// <see cref="FromEnvironment"/> reads RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT,
/// as set by torchrun, Slurm scripts, mpirun wrappers, Kubernetes jobs or <c>unet --nproc-per-node</c>.
/// </summary>
public sealed record DistributedOptions
{
    /// <summary>The environment variable that picks a file rendezvous instead of MASTER_ADDR/MASTER_PORT.</summary>
    public const string StoreFileVariable = "UNET_DIST_STORE_FILE";
    /// <summary>The environment variable that picks the backend: gloo (default) or nccl.</summary>
    public const string BackendVariable = "UNET_DIST_BACKEND";
    /// <summary>The environment variable with the collective timeout in seconds (default 600).</summary>
    public const string TimeoutVariable = "UNET_DIST_TIMEOUT_SECONDS";

    /// <summary>This process's rank, 0..WorldSize−1; rank 0 logs, evaluates and writes checkpoints.</summary>
    public int Rank { get; init; }
    /// <summary>The rank on this machine (picks the CUDA device); defaults to <see cref="Rank"/>.</summary>
    public int LocalRank { get; init; }
    /// <summary>The number of processes.</summary>
    public int WorldSize { get; init; } = 1;
    /// <summary>Host of rank 0's TCP store.</summary>
    public string MasterAddress { get; init; } = "127.0.0.1";
    /// <summary>Port of rank 0's TCP store (torchrun's default 29500).</summary>
    public int MasterPort { get; init; } = 29500;
    /// <summary>A file on a file system every rank sees, for a file rendezvous instead of TCP; null: TCP.</summary>
    public string? StoreFile { get; init; }
    /// <summary>Gloo (CPU tensors; every build) or NCCL (CUDA; a shim built against a CUDA libtorch).</summary>
    public Backend Backend { get; init; } = Backend.Gloo;
    /// <summary>
    /// How long the rendezvous and each collective may wait. A dead rank is noticed at once (its
    /// sockets close); a hung one after this long. It must exceed the longest time one rank
    /// spends without the others (rank 0's evaluations and checkpoints).
    /// </summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(10);
    /// <summary>Bucket size of the gradient allreduce (PyTorch DDP's 25 MiB).</summary>
    public long BucketBytes { get; init; } = ProcessGroup.DefaultBucketBytes;

    /// <summary>True for rank 0.</summary>
    public bool IsMainRank => Rank == 0;

    /// <summary>
    /// Reads RANK, WORLD_SIZE (both required), LOCAL_RANK (default RANK), MASTER_ADDR and
    /// MASTER_PORT (required unless UNET_DIST_STORE_FILE names a rendezvous file),
    /// UNET_DIST_BACKEND (gloo or nccl) and UNET_DIST_TIMEOUT_SECONDS from
    /// <paramref name="environment"/> (default: this process's). A missing or malformed variable
    /// is an <see cref="ArgumentException"/> whose <see cref="ArgumentException.ParamName"/> is
    /// the variable's name.
    /// </summary>
    public static DistributedOptions FromEnvironment(IDictionary? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariables();
        string? Get(string name) => environment[name] is string s && !string.IsNullOrWhiteSpace(s) ? s.Trim() : null;
        string Required(string name, string what) => Get(name)
            ?? throw new ArgumentException($"the environment variable {name} ({what}) is not set; a data-parallel launch sets RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT", name);
        int Integer(string name, string value, int min, int max)
        {
            if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int v) || v < min || v > max)
                throw new ArgumentException($"the environment variable {name} must be an integer in {min}..{max} (got '{value}')", name);
            return v;
        }

        int world = Integer("WORLD_SIZE", Required("WORLD_SIZE", "the number of processes"), 1, 1 << 20);
        int rank = Integer("RANK", Required("RANK", "this process's rank"), 0, world - 1);
        int localRank = Get("LOCAL_RANK") is { } lr ? Integer("LOCAL_RANK", lr, 0, world - 1) : rank;
        string? file = Get(StoreFileVariable);
        string address = "127.0.0.1";
        int port = 29500;
        if (file is null)
        {
            address = Required("MASTER_ADDR", "the host of rank 0");
            port = Integer("MASTER_PORT", Required("MASTER_PORT", "the rendezvous port on rank 0"), 1, 65535);
        }
        var backend = Get(BackendVariable)?.ToLowerInvariant() switch
        {
            null or "gloo" => Backend.Gloo,
            "nccl" => Backend.Nccl,
            var other => throw new ArgumentException($"the environment variable {BackendVariable} must be gloo or nccl (got '{other}')", BackendVariable),
        };
        var timeout = TimeSpan.FromMinutes(10);
        if (Get(TimeoutVariable) is { } t)
        {
            if (!double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds) || !(seconds > 0) || seconds > 86400 * 7)
                throw new ArgumentException($"the environment variable {TimeoutVariable} must be a positive number of seconds (got '{t}')", TimeoutVariable);
            timeout = TimeSpan.FromSeconds(seconds);
        }
        return new DistributedOptions
        {
            Rank = rank, LocalRank = localRank, WorldSize = world, MasterAddress = address, MasterPort = port,
            StoreFile = file, Backend = backend, Timeout = timeout,
        };
    }

    /// <summary>Every problem, each naming its option; empty when usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var p = new List<string>();
        if (WorldSize < 1) p.Add($"{nameof(WorldSize)} must be at least 1 (got {WorldSize})");
        if (Rank < 0 || Rank >= Math.Max(1, WorldSize)) p.Add($"{nameof(Rank)} must lie in 0..{WorldSize - 1} (got {Rank})");
        if (LocalRank < 0) p.Add($"{nameof(LocalRank)} must be non-negative (got {LocalRank})");
        if (StoreFile is null && string.IsNullOrWhiteSpace(MasterAddress)) p.Add($"{nameof(MasterAddress)} is empty");
        if (StoreFile is null && MasterPort is < 1 or > 65535) p.Add($"{nameof(MasterPort)} must lie in 1..65535 (got {MasterPort})");
        if (StoreFile is not null && string.IsNullOrWhiteSpace(StoreFile)) p.Add($"{nameof(StoreFile)} is empty");
        if (!Enum.IsDefined(Backend)) p.Add($"{nameof(Backend)} {Backend} is not a known backend");
        if (Timeout <= TimeSpan.Zero) p.Add($"{nameof(Timeout)} must be positive (got {Timeout})");
        if (BucketBytes < 1) p.Add($"{nameof(BucketBytes)} must be at least 1 (got {BucketBytes})");
        return p;
    }
}
