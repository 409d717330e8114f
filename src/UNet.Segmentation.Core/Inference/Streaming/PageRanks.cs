namespace UNet.Segmentation.Inference.Streaming;

/// <summary>
/// The processes that share one streaming prediction (the ranks of an MPI job, or any group the
/// caller coordinates): each predicts its own contiguous share of the pages
/// (<see cref="PageShare.For"/>). <c>UNet.Segmentation</c>'s <c>MpiWorld</c> is one;
/// <see cref="Single"/> is the group of one.
/// </summary>
public interface IPageRanks
{
    /// <summary>This process's rank, 0 ≤ rank &lt; <see cref="Size"/>.</summary>
    int Rank { get; }

    /// <summary>How many processes share the prediction.</summary>
    int Size { get; }

    /// <summary>
    /// Collective: every rank calls it, and it returns, on every rank, whether every rank passed true.
    /// It is also the barrier between the prediction and the assembly of the outputs.
    /// </summary>
    /// <param name="succeeded">Whether this rank's part succeeded.</param>
    /// <param name="what">What is agreed on, for error messages.</param>
    bool AllSucceeded(bool succeeded, string what);
}

/// <summary>The group of one process: a prediction that nobody shares.</summary>
public sealed class SingleRank : IPageRanks
{
    /// <summary>The one instance.</summary>
    public static SingleRank Instance { get; } = new();

    private SingleRank()
    {
    }

    /// <inheritdoc/>
    public int Rank => 0;

    /// <inheritdoc/>
    public int Size => 1;

    /// <inheritdoc/>
    public bool AllSucceeded(bool succeeded, string what) => succeeded;
}

/// <summary>
/// A rank's share of a volume's pages: <see cref="Count"/> pages from <see cref="First"/>. Shares
/// are contiguous and start at a multiple of the batch size, so every rank predicts exactly the
/// batches one process would (the same pages together: the same bytes out).
/// </summary>
/// <param name="First">The share's first page (zero-based).</param>
/// <param name="Count">Pages in the share (0 when there are more ranks than batches).</param>
public readonly record struct PageShare(int First, int Count)
{
    /// <summary>The share of rank <paramref name="rank"/> of <paramref name="ranks"/>: the batches split as evenly as they go, the earlier ranks taking the extra ones.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A count is not positive, or the rank lies outside 0..ranks − 1.</exception>
    public static PageShare For(int rank, int ranks, int pageCount, int batchSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(ranks, 1);
        if (rank < 0 || rank >= ranks) throw new ArgumentOutOfRangeException(nameof(rank), rank, $"the rank must lie in 0..{ranks - 1}");
        ArgumentOutOfRangeException.ThrowIfNegative(pageCount);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        int batches = (pageCount + batchSize - 1) / batchSize;
        int each = batches / ranks, extra = batches % ranks;
        int firstBatch = rank * each + Math.Min(rank, extra), ownBatches = each + (rank < extra ? 1 : 0);
        int first = Math.Min(firstBatch * batchSize, pageCount);
        return new PageShare(first, Math.Min(ownBatches * batchSize, pageCount - first));
    }
}

/// <summary>
/// Another rank of a shared prediction failed (its own error, naming the file and page, is in its
/// output); this rank stopped too. The pages written are kept: the same command resumes.
/// </summary>
public sealed class PageRanksException : Exception
{
    /// <summary>Creates the exception seen by rank <paramref name="rank"/> while <paramref name="stage"/>.</summary>
    public PageRanksException(int rank, string stage)
        : base($"rank {rank}: another rank failed while {stage} (its error names the file and page); the pages written are kept: run the same command again to resume")
    {
        Rank = rank;
        Stage = stage;
    }

    /// <summary>The rank that saw the failure.</summary>
    public int Rank { get; }

    /// <summary>What the ranks were doing.</summary>
    public string Stage { get; }
}
