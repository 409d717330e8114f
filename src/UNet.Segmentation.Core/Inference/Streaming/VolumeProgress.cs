namespace UNet.Segmentation.Inference.Streaming;

/// <summary>Where a streaming prediction stands, reported after every page written.</summary>
/// <param name="PagesDone">Pages complete in the output, those an earlier run wrote included.</param>
/// <param name="PageCount">Pages in the volume.</param>
/// <param name="PagesResumed">Pages an earlier run had written, skipped by this one.</param>
/// <param name="Elapsed">Time since this run started.</param>
public sealed record VolumeProgress(int PagesDone, int PageCount, int PagesResumed, TimeSpan Elapsed)
{
    /// <summary>Pages this run wrote per second (0 before the first).</summary>
    public double PagesPerSecond => PagesDone > PagesResumed && Elapsed > TimeSpan.Zero ? (PagesDone - PagesResumed) / Elapsed.TotalSeconds : 0;

    /// <summary>The time left at this run's rate, or null before the first page.</summary>
    public TimeSpan? Remaining => PagesPerSecond > 0 ? TimeSpan.FromSeconds((PageCount - PagesDone) / PagesPerSecond) : null;
}

/// <summary>What a streaming prediction did.</summary>
/// <param name="InputPath">The stack file or folder read.</param>
/// <param name="PageCount">Pages in the volume.</param>
/// <param name="PagesResumed">Pages an earlier run had written, skipped.</param>
/// <param name="Height">Rows per page.</param>
/// <param name="Width">Columns per page.</param>
/// <param name="Elapsed">Wall-clock time of the call.</param>
public sealed record StreamPredictionResult(string InputPath, int PageCount, int PagesResumed, int Height, int Width, TimeSpan Elapsed);
