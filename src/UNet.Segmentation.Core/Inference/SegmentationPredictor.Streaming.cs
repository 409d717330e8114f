using System.Diagnostics;
using System.Threading.Channels;
using UNet.Segmentation.Inference.Streaming;

namespace UNet.Segmentation.Inference;

public abstract partial class SegmentationPredictor<TOptions>
{
    /// <summary>
    /// Segments a volume larger than memory page by page: <paramref name="source"/> decodes the next
    /// <see cref="PredictionOptions.BatchSize"/> pages on a reader task while this thread predicts
    /// the current ones and a writer task hands the previous ones to <paramref name="sink"/>; the
    /// queues between them hold one batch each, so at most a few batches of pages are in memory,
    /// whatever the volume's length. Pages are predicted in the batches <see cref="PredictVolume"/>
    /// uses (page 0 to B − 1, B to 2B − 1, …), so the outputs are the same bytes.
    /// <para>
    /// Resuming: the pages the sink reports complete from an earlier run of the same prediction are
    /// skipped (the batch holding the first missing page is predicted whole, its done pages
    /// discarded, so batches stay aligned). Failing or cancelled: the pages already predicted are
    /// written, the sink keeps them, and the exception (or <see cref="OperationCanceledException"/>)
    /// comes out after.
    /// </para>
    /// </summary>
    /// <param name="source">The pages to read (every page must have the first page's size).</param>
    /// <param name="sink">Where the probabilities and masks go.</param>
    /// <param name="progress">Hears the pages done after each page written.</param>
    /// <param name="cancellationToken">Stops reading and predicting; what was predicted is written first.</param>
    /// <exception cref="VolumePageException">A page has another size or depth, or its file cannot be read (names the file and page).</exception>
    /// <exception cref="Imaging.TiffFormatException">A page of a TIFF stack is damaged or truncated (names the file and page).</exception>
    /// <exception cref="VolumeOutputException">An output cannot be written, the disk is full (names the file and page).</exception>
    /// <exception cref="ArgumentException">An output is the input file or lies inside the input folder.</exception>
    /// <exception cref="InvalidOperationException">The network does not take one channel or has fewer than two classes.</exception>
    public StreamPredictionResult PredictStream(VolumeSource source, VolumeSink sink, IProgress<VolumeProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(sink);
        CheckGreyTwoClass();
        CheckOutsideInput(source, sink.OutputPaths);
        var watch = Stopwatch.StartNew();
        int pages = source.PageCount, batch = Options.BatchSize;
        var (height, width) = source.Describe(0);
        var layout = new VolumeLayout(source.InputPath, pages, height, width, source.PageNames);
        int resumed = Math.Clamp(sink.Begin(layout, Signature(layout)), 0, pages);
        progress?.Report(new VolumeProgress(resumed, pages, resumed, watch.Elapsed));
        if (resumed < pages)
            RunPipeline(source, sink, layout, resumed, batch, progress, watch, cancellationToken);
        cancellationToken.ThrowIfCancellationRequested();
        sink.Complete();
        return new StreamPredictionResult(source.InputPath, pages, resumed, height, width, watch.Elapsed);
    }

    /// <summary>What a resumed run must share with the run that started the output: the input, the network's shape and weights, and the options.</summary>
    private string Signature(VolumeLayout layout)
    {
        string weights = Network.Fingerprint();
        return $"input {Path.GetFullPath(layout.InputPath)}; {layout.PageCount} pages of {layout.Height}x{layout.Width}; " +
               $"network {InputChannels}x{InputSize}² -> {Classes}x{OutputSize}²{(weights.Length > 0 ? $", weights {weights}" : "")}; {Options}";
    }

    private static void CheckOutsideInput(VolumeSource source, IReadOnlyList<string> outputs)
    {
        string input = Path.GetFullPath(source.InputPath);
        foreach (string output in outputs)
            if (string.Equals(Path.GetFullPath(output), input, StringComparison.Ordinal))
                throw new ArgumentException($"the output '{output}' is the input; write it elsewhere", "outputs");
        if (!Directory.Exists(source.InputPath)) return;
        string folder = Path.TrimEndingDirectorySeparator(Path.GetFullPath(source.InputPath)) + Path.DirectorySeparatorChar;
        foreach (string output in outputs)
        {
            string full = Path.GetFullPath(output);
            if ((full + Path.DirectorySeparatorChar).StartsWith(folder, StringComparison.Ordinal))
                throw new ArgumentException(
                    $"the output '{output}' lies inside the input folder '{source.InputPath}', where it would be read as input pages; write it elsewhere", "outputs");
        }
    }

    private sealed record Predicted(VolumePage[] Pages, float[][] Interior, byte[][] Masks);

    private void RunPipeline(VolumeSource source, VolumeSink sink, VolumeLayout layout, int resumed, int batch,
        IProgress<VolumeProgress>? progress, Stopwatch watch, CancellationToken cancellationToken)
    {
        var options = new BoundedChannelOptions(1) { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait };
        var read = Channel.CreateBounded<VolumePage[]>(options);
        var predicted = Channel.CreateBounded<Predicted>(options);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        int first = resumed / batch * batch;

        var reader = Task.Run(async () =>
        {
            try
            {
                for (int start = first; start < layout.PageCount; start += batch)
                {
                    var group = new VolumePage[Math.Min(batch, layout.PageCount - start)];
                    for (int i = 0; i < group.Length; i++)
                    {
                        stop.Token.ThrowIfCancellationRequested();
                        group[i] = source.ReadPage(start + i);
                        if ((group[i].Height, group[i].Width) != (layout.Height, layout.Width))
                            throw new VolumePageException(group[i].FilePath, start + i + 1,
                                $"the page is {group[i].Width}x{group[i].Height} but the first page is {layout.Width}x{layout.Height}; every page of a volume must have one size");
                    }
                    await read.Writer.WriteAsync(group, stop.Token).ConfigureAwait(false);
                }
                read.Writer.Complete();
            }
            catch (Exception e)
            {
                read.Writer.Complete(e);
            }
        }, CancellationToken.None);

        Exception? writeFailure = null;
        var writer = Task.Run(async () =>
        {
            int done = resumed;
            try
            {
                await foreach (var result in predicted.Reader.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
                {
                    for (int i = 0; i < result.Pages.Length; i++)
                    {
                        if (result.Pages[i].Index < resumed) continue;
                        sink.WritePage(result.Pages[i], result.Interior[i], result.Masks[i]);
                        progress?.Report(new VolumeProgress(++done, layout.PageCount, resumed, watch.Elapsed));
                    }
                }
            }
            catch (Exception e)
            {
                writeFailure = e;
                await stop.CancelAsync().ConfigureAwait(false);
            }
        }, CancellationToken.None);

        Exception? failure = null;
        try
        {
            while (read.Reader.WaitToReadAsync(stop.Token).AsTask().GetAwaiter().GetResult())
            {
                if (!read.Reader.TryRead(out var group)) continue;
                var result = PredictGroup(group, layout.Height, layout.Width);
                predicted.Writer.WriteAsync(result, stop.Token).AsTask().GetAwaiter().GetResult();
            }
        }
        catch (Exception e)
        {
            failure = e;
        }
        predicted.Writer.TryComplete();
        writer.GetAwaiter().GetResult();
        stop.Cancel();
        reader.GetAwaiter().GetResult();
        // The writer's failure caused the others' cancellation; the reader's reached the loop through the channel.
        if (writeFailure is not null) Rethrow(writeFailure);
        if (failure is not null && !(failure is OperationCanceledException && cancellationToken.IsCancellationRequested)) Rethrow(failure);
        cancellationToken.ThrowIfCancellationRequested();
    }

    private static void Rethrow(Exception e) => System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e).Throw();

    /// <summary>The interior probabilities and masks of one batch of pages, as <see cref="PredictVolume"/> computes them.</summary>
    private Predicted PredictGroup(VolumePage[] group, int height, int width)
    {
        int area = height * width, count = group.Length;
        var slices = new byte[(long)count * area];
        for (int i = 0; i < count; i++) group[i].Pixels.CopyTo(slices, (long)i * area);
        var p = PredictProbabilities(FloatImages.FromGrayBytes(slices, count, height, width));
        var interior = new float[count][];
        var masks = new byte[count][];
        for (int i = 0; i < count; i++)
        {
            interior[i] = p.Plane(i, 1).ToArray();
            var mask = masks[i] = new byte[area];
            if (p.Channels == 2)
                for (int j = 0; j < area; j++) mask[j] = interior[i][j] >= 0.5f ? (byte)255 : (byte)0;
            else
                for (int j = 0; j < area; j++) mask[j] = ArgMax(p, i, j) == 1 ? (byte)255 : (byte)0;
        }
        return new Predicted(group, interior, masks);
    }
}
