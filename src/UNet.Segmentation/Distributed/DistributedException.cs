namespace UNet.Segmentation.Distributed;

/// <summary>
/// A collective operation of a data-parallel job failed or did not finish in time. The message
/// names this rank, the collective and (inside training) the step; for a timeout the watchdog has
/// already aborted the job or communicator, so the other ranks end too.
/// </summary>
public sealed class DistributedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public DistributedException(string message, int rank, string collective, long? step = null, Exception? inner = null) : base(message, inner)
    {
        Rank = rank;
        Collective = collective;
        Step = step;
    }

    /// <summary>The rank that raised it.</summary>
    public int Rank { get; }

    /// <summary>The collective, e.g. "all-reduce of gradient bucket 2 of 3".</summary>
    public string Collective { get; }

    /// <summary>The training step it happened in, when inside training.</summary>
    public long? Step { get; }
}
