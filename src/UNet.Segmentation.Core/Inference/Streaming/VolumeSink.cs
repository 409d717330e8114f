namespace UNet.Segmentation.Inference.Streaming;

/// <summary>
/// Where a streaming prediction writes its pages: one at a time, in page order, from one thread.
/// <see cref="TiffStackSink"/> writes multi-page TIFF or BigTIFF files, <see cref="PageFolderSink"/>
/// one pair of files per page. A sink that keeps what an earlier, interrupted run wrote says so from
/// <see cref="Begin"/>, and the prediction skips those pages.
/// </summary>
public abstract class VolumeSink : IDisposable
{
    /// <summary>The files or folders this sink writes (checked against the input: none may lie inside an input folder).</summary>
    public abstract IReadOnlyList<string> OutputPaths { get; }

    /// <summary>
    /// Prepares the outputs for <paramref name="layout"/> and returns how many leading pages an earlier
    /// run of the same prediction (<paramref name="signature"/>: the input, the model's shape and the
    /// options, in one line) left complete and verified; 0 to start afresh.
    /// </summary>
    /// <exception cref="VolumeOutputException">An earlier run's state belongs to another prediction, or the outputs cannot be created.</exception>
    public abstract int Begin(VolumeLayout layout, string signature);

    /// <summary>Writes page <paramref name="page"/>'s interior probabilities (float32) and mask (0 or 255).</summary>
    /// <exception cref="VolumeOutputException">The page could not be written (the pages before it are kept).</exception>
    public abstract void WritePage(VolumePage page, ReadOnlySpan<float> interior, ReadOnlySpan<byte> mask);

    /// <summary>Finishes the outputs after the last page: they appear under their final names.</summary>
    /// <exception cref="VolumeOutputException">They could not be finished.</exception>
    public abstract void Complete();

    /// <summary>Releases open files; an unfinished resumable output stays for the next run.</summary>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases what the sink holds.</summary>
    protected virtual void Dispose(bool disposing)
    {
    }
}
