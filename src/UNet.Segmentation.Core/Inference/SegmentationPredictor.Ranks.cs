using System.Diagnostics;
using UNet.Segmentation.Imaging;
using UNet.Segmentation.Inference.Streaming;

namespace UNet.Segmentation.Inference;

public abstract partial class SegmentationPredictor<TOptions>
{
    /// <summary>
    /// <see cref="PredictStream"/> shared by the processes of <paramref name="ranks"/>, into one pair
    /// of TIFF stacks. Every rank calls it with the same arguments (the same volume, the same model
    /// and options): each predicts its contiguous share of the batches (<see cref="PageShare.For"/>)
    /// into a staging folder of per-page files, <c>PROBABILITIES.pages</c>, writing its overlays
    /// directly; when every rank has finished, rank 0 assembles the stacks from the staged pages
    /// (<see cref="TiffStackSink"/>, resumable) and deletes the folder. The stacks are the bytes one
    /// process writes (<see cref="PredictStream"/> into a <see cref="TiffStackSink"/>), given the
    /// same predictions per batch.
    /// <para>
    /// Failing: a rank's error comes out of that rank; the others throw a
    /// <see cref="PageRanksException"/>; the staged pages and the partial stacks stay, and the same
    /// call (with any number of ranks) resumes: each rank skips its pages already staged, the assembly
    /// skips the pages already in the stacks.
    /// </para>
    /// </summary>
    /// <param name="source">The pages to read.</param>
    /// <param name="probabilitiesPath">The float32 probabilities stack (BigTIFF past 4 GiB).</param>
    /// <param name="masksPath">The 8-bit masks stack.</param>
    /// <param name="overlayFolder">Where each rank writes its pages' overlay PNGs (<see cref="OverlaySink"/>'s names), or null for none.</param>
    /// <param name="ranks">The processes sharing the prediction (<see cref="SingleRank.Instance"/> alone).</param>
    /// <param name="progress">Hears this rank's pages: done of its share.</param>
    /// <param name="cancellationToken">Stops this rank; what it predicted is staged first.</param>
    /// <returns>The whole volume's shape, with this rank's resumed pages and time.</returns>
    /// <exception cref="PageRanksException">Another rank failed (its own error names the file and page).</exception>
    public StreamPredictionResult PredictStack(VolumeSource source, string probabilitiesPath, string masksPath, string? overlayFolder,
        IPageRanks ranks, IProgress<VolumeProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        ArgumentNullException.ThrowIfNull(source);
        ArgumentException.ThrowIfNullOrWhiteSpace(probabilitiesPath);
        ArgumentException.ThrowIfNullOrWhiteSpace(masksPath);
        ArgumentNullException.ThrowIfNull(ranks);
        string staging = Path.GetFullPath(probabilitiesPath) + ".pages";
        string stem = Path.GetFileNameWithoutExtension(source.InputPath);
        var result = PredictShares(source, staging, overlayFolder is null ? null : (overlayFolder, stem),
            [probabilitiesPath, masksPath, .. overlayFolder is null ? Array.Empty<string>() : [overlayFolder]], ranks, progress, cancellationToken);
        Agree(ranks, "assembling the stacks", () =>
        {
            if (ranks.Rank == 0) Assemble(staging, result.Layout, probabilitiesPath, masksPath, cancellationToken);
        });
        return result.Result;
    }

    /// <summary>
    /// <see cref="PredictStream"/> into a <see cref="PageFolderSink"/> shared by the processes of
    /// <paramref name="ranks"/>: each rank writes its share's page files straight into
    /// <paramref name="outputFolder"/>; nothing is assembled. Resuming and failing as
    /// <see cref="PredictStack"/>.
    /// </summary>
    /// <exception cref="PageRanksException">Another rank failed (its own error names the file and page).</exception>
    public StreamPredictionResult PredictPages(VolumeSource source, string outputFolder, IPageRanks ranks,
        IProgress<VolumeProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        ArgumentNullException.ThrowIfNull(source);
        ArgumentException.ThrowIfNullOrWhiteSpace(outputFolder);
        ArgumentNullException.ThrowIfNull(ranks);
        return PredictShares(source, Path.GetFullPath(outputFolder), null, [outputFolder], ranks, progress, cancellationToken).Result;
    }

    private (StreamPredictionResult Result, VolumeLayout Layout) PredictShares(VolumeSource source, string folder, (string Folder, string Stem)? overlays,
        IReadOnlyList<string> outputs, IPageRanks ranks, IProgress<VolumeProgress>? progress, CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        VolumeLayout? layout = null;
        Agree(ranks, "preparing the outputs", () =>
        {
            CheckGreyTwoClass();
            CheckOutsideInput(source, outputs);
            var (height, width) = source.Describe(0);
            layout = new VolumeLayout(source.InputPath, source.PageCount, height, width, source.PageNames);
            // Rank 0 records (or checks) which prediction the folder holds; the ranks' own sinks keep no record.
            if (ranks.Rank == 0) new PageFolderSink(folder).Begin(layout, Signature(layout));
        });
        var share = PageShare.For(ranks.Rank, ranks.Size, layout!.PageCount, Options.BatchSize);
        int resumed = 0;
        Agree(ranks, "predicting the ranks' pages", () =>
        {
            if (share.Count == 0) return;
            using var part = new PageRangeSource(source, share);
            VolumeSink sink = new PageFolderSink(folder) { KeepsRecord = false, FirstPage = share.First };
            if (overlays is { } o) sink = new OverlaySink(sink, o.Folder, o.Stem) { FirstPage = share.First };
            using (sink) resumed = PredictStream(part, sink, progress, cancellationToken).PagesResumed;
        });
        return (new StreamPredictionResult(source.InputPath, layout.PageCount, resumed, layout.Height, layout.Width, watch.Elapsed), layout);
    }

    /// <summary>Runs this rank's part, then agrees with the others: this rank's error comes out as it is; a failure elsewhere as a <see cref="PageRanksException"/>.</summary>
    private static void Agree(IPageRanks ranks, string what, Action part)
    {
        Exception? failure = null;
        try
        {
            part();
        }
        catch (Exception e)
        {
            failure = e;
        }
        if (ranks.AllSucceeded(failure is null, what)) return;
        if (failure is not null) Rethrow(failure);
        throw new PageRanksException(ranks.Rank, what);
    }

    /// <summary>Rank 0: copies the staged pages into the stacks in page order, resuming after the pages already there, then deletes the staging folder.</summary>
    private void Assemble(string staging, VolumeLayout layout, string probabilitiesPath, string masksPath, CancellationToken cancellationToken)
    {
        var pages = new PageFolderSink(staging);
        using (var stacks = new TiffStackSink(probabilitiesPath, masksPath))
        {
            int done = stacks.Begin(layout, Signature(layout));
            for (int i = done; i < layout.PageCount; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                string name = layout.PageNames[i];
                var interior = ReadStaged(pages.ProbabilitiesPath(name), i, layout, TiffSampleFormat.Float32).GetFloat32();
                var mask = ReadStaged(pages.MaskPath(name), i, layout, TiffSampleFormat.UInt8).GetUInt8();
                stacks.WritePage(new VolumePage(i, layout.InputPath, layout.Height, layout.Width, []), interior, mask);
            }
            stacks.Complete();
        }
        Directory.Delete(staging, recursive: true);
    }

    private static TiffVolume ReadStaged(string path, int index, VolumeLayout layout, TiffSampleFormat format)
    {
        TiffVolume page;
        try
        {
            page = Tiff.Read(path);
        }
        catch (Exception e) when (e is IOException or ImageFormatException or UnauthorizedAccessException)
        {
            throw new VolumeOutputException(path, index + 1, $"a staged page could not be read back ({e.Message}); delete it and run the same command again to predict it anew", e);
        }
        if (page.PageCount != 1 || page.Height != layout.Height || page.Width != layout.Width || page.SampleFormat != format)
            throw new VolumeOutputException(path, index + 1,
                $"a staged page is not one {layout.Width}x{layout.Height} {format} page; delete it and run the same command again to predict it anew");
        return page;
    }
}
