namespace UNet.Segmentation.Torch.Distributed;

/// <summary>
/// A rendezvous or a collective failed: a peer died (its sockets closed) or did not take part
/// within the timeout. The message says which collective on which rank failed and names the
/// ranks that look responsible; <see cref="SuspectedRanks"/> lists them.
/// </summary>
public class DistributedException : TorchException
{
    /// <summary>Creates the exception from the shim's message (rank unknown).</summary>
    public DistributedException(string message) : base(message, TorchErrorKind.Distributed) { }

    /// <summary>Creates the exception for a failure seen by <paramref name="rank"/> of <paramref name="worldSize"/>.</summary>
    public DistributedException(string message, int rank, int worldSize, IReadOnlyList<int> suspectedRanks) : base(message, TorchErrorKind.Distributed)
    {
        Rank = rank;
        WorldSize = worldSize;
        SuspectedRanks = suspectedRanks ?? [];
    }

    /// <summary>The rank that saw the failure; -1 when unknown.</summary>
    public int Rank { get; } = -1;

    /// <summary>The number of ranks; 0 when unknown.</summary>
    public int WorldSize { get; }

    /// <summary>The ranks whose heartbeat stopped, or that host a store that no longer answers; empty when none could be named.</summary>
    public IReadOnlyList<int> SuspectedRanks { get; } = [];
}

/// <summary>The backend asked for is not compiled into this native shim (NCCL on a build against a CPU libtorch).</summary>
public sealed class DistributedBackendUnavailableException : TorchException
{
    /// <summary>Creates the exception with the shim's explanation.</summary>
    public DistributedBackendUnavailableException(string message) : base(message, TorchErrorKind.Unsupported) { }
}
