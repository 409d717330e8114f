using System.Diagnostics;
using System.Globalization;
using UNet.Segmentation.Inference;
using UNet.Segmentation.Inference.Streaming;

namespace UNet.Segmentation.Cli;

/// <summary>
/// <c>unet predict</c> on a volume, page by page (<see cref="SegmentationPredictor{TOptions}.PredictStream"/>):
/// a TIFF stack into <c>NAME-probabilities.tif</c> and <c>NAME-masks.tif</c> (BigTIFF past 4 GiB)
/// with overlay PNGs, or (<c>--pages</c>) a folder of slices into one pair of files per page.
/// Progress is printed as lines (pages done, pages/s, ETA). Resuming is automatic: the same command
/// run again after a crash, a kill or Ctrl+C continues after the pages already written. Under MPI
/// the ranks share the pages (<see cref="SegmentationPredictor{TOptions}.PredictStack"/>: each stages
/// its share, rank 0 assembles the stacks); each rank prints its own progress.
/// </summary>
internal static class VolumePrediction
{
    /// <summary>How often a progress line is printed at most (the last page always is).</summary>
    private static readonly TimeSpan LineEvery = TimeSpan.FromSeconds(2);

    public static int Stack<T>(SegmentationPredictor<T> predictor, string file, string outputDir, IPageRanks ranks) where T : PredictionOptions
    {
        string stem = Path.Combine(outputDir, Path.GetFileNameWithoutExtension(file));
        if (ranks.Size > 1)
        {
            return Run((source, lines, token) =>
                    predictor.PredictStack(source, stem + "-probabilities.tif", stem + "-masks.tif", Path.Combine(outputDir, "overlays"), ranks, lines, token),
                file, r => $"{file}: {r.PageCount} page(s) of {r.Width}x{r.Height}{Resumed(r)}, shared by {ranks.Size} ranks -> {stem}-probabilities.tif, {stem}-masks.tif");
        }
        var tiffs = new TiffStackSink(stem + "-probabilities.tif", stem + "-masks.tif");
        var sink = new OverlaySink(tiffs, Path.Combine(outputDir, "overlays"), Path.GetFileNameWithoutExtension(file));
        return Run(predictor, file, sink, r =>
            $"{file}: {r.PageCount} page(s) of {r.Width}x{r.Height}{Resumed(r)} -> {stem}-probabilities.tif, {stem}-masks.tif");
    }

    public static int Pages<T>(SegmentationPredictor<T> predictor, string input, string outputDir, IPageRanks ranks) where T : PredictionOptions
    {
        if (ranks.Size > 1)
        {
            return Run((source, lines, token) => predictor.PredictPages(source, outputDir, ranks, lines, token), input,
                r => $"{input}: {r.PageCount} page(s) of {r.Width}x{r.Height}{Resumed(r)}, shared by {ranks.Size} ranks -> {outputDir} (NAME-probabilities.tif, NAME-mask.tif per page)");
        }
        var sink = new PageFolderSink(outputDir);
        return Run(predictor, input, sink, r =>
            $"{input}: {r.PageCount} page(s) of {r.Width}x{r.Height}{Resumed(r)} -> {outputDir} (NAME-probabilities.tif, NAME-mask.tif per page)");
    }

    private static string Resumed(StreamPredictionResult r) => r.PagesResumed > 0 ? $", {r.PagesResumed} kept from an earlier run" : "";

    private static int Run<T>(SegmentationPredictor<T> predictor, string input, VolumeSink sink, Func<StreamPredictionResult, string> summary)
        where T : PredictionOptions
    {
        using (sink)
            return Run((source, lines, token) => predictor.PredictStream(source, sink, lines, token), input, summary);
    }

    private static int Run(Func<VolumeSource, ProgressLines, CancellationToken, StreamPredictionResult> predict, string input,
        Func<StreamPredictionResult, string> summary)
    {
        using var cancel = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true; // finish the pages already predicted, then stop
            cancel.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        var lines = new ProgressLines();
        try
        {
            using var source = VolumeSource.Open(input);
            var result = predict(source, lines, cancel.Token);
            Console.WriteLine(summary(result));
            return 0;
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            Console.Error.WriteLine($"cancelled after {lines.Done} page(s); run the same command again to resume");
            return 130;
        }
        catch (PageRanksException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
        catch (VolumeOutputException e)
        {
            Console.Error.WriteLine($"error: {e.Message}; the pages before it are kept: free space or fix the output, then run the same command again to resume");
            return 2;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }

    /// <summary>Prints "page N/M · P pages/s · ETA h:mm:ss" lines, at most one per <see cref="LineEvery"/> and always the last.</summary>
    private sealed class ProgressLines : IProgress<VolumeProgress>
    {
        private readonly Stopwatch _since = Stopwatch.StartNew();
        private bool _first = true;

        public int Done { get; private set; }

        public void Report(VolumeProgress value)
        {
            Done = value.PagesDone;
            bool last = value.PagesDone == value.PageCount;
            if (!_first && !last && _since.Elapsed < LineEvery) return;
            _first = false;
            _since.Restart();
            var inv = CultureInfo.InvariantCulture;
            var parts = new List<string> { string.Create(inv, $"page {value.PagesDone}/{value.PageCount}") };
            if (value.PagesResumed > 0) parts.Add(string.Create(inv, $"{value.PagesResumed} resumed"));
            if (value.PagesPerSecond > 0) parts.Add(string.Create(inv, $"{value.PagesPerSecond:F2} pages/s"));
            if (value.Remaining is { } left && !last) parts.Add($"ETA {(int)left.TotalHours}:{left.Minutes:00}:{left.Seconds:00}");
            Console.WriteLine(string.Join(" · ", parts));
        }
    }
}
