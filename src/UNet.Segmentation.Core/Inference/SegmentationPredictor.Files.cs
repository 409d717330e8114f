using System.Diagnostics;
using UNet.Segmentation.Data;
using UNet.Segmentation.Imaging;
using UNet.Segmentation.Inference.Streaming;
using UNet.Segmentation.Visualization;

namespace UNet.Segmentation.Inference;

public abstract partial class SegmentationPredictor<TOptions>
{
    /// <summary>
    /// Segments every page of a multi-page 8-bit greyscale TIFF and writes:
    /// <list type="bullet">
    /// <item><paramref name="outputProbabilitiesTiff"/>: float32 pages of the same count and size
    /// holding the interior probability (0 = membrane certain, 1 = interior certain; the ISBI 2012
    /// submission format);</item>
    /// <item><paramref name="outputMasksTiff"/> (optional): 8-bit Deflate-compressed masks in the
    /// reference's test-masks convention, 255 = interior, 0 = membrane (for two classes: interior
    /// probability ≥ 0.5; for more: class 1 is the argmax);</item>
    /// <item><paramref name="overlayDirectory"/> (optional): one RGB PNG per page,
    /// <c>{input name}-{page:D4}.png</c>, the slice with predicted membranes tinted
    /// (<see cref="Overlays.Blend"/>).</item>
    /// </list>
    /// Pages go through <see cref="PredictProbabilities"/> <see cref="PredictionOptions.BatchSize"/> at a
    /// time; <paramref name="progress"/> hears the number of pages done after each page. A thin layer
    /// over <see cref="PredictStream"/> (a <see cref="TiffStackSource"/> into a non-resumable
    /// <see cref="TiffStackSink"/>): a few pages are in memory at a time, the TIFFs are written as
    /// <c>.partial</c> files renamed at the end (deleted on failure), so the final names only ever
    /// hold complete files; an output that may pass 4 GiB is written as BigTIFF. Folders are created as needed.
    /// </summary>
    /// <exception cref="FileNotFoundException">The input does not exist.</exception>
    /// <exception cref="TiffFormatException">The input is damaged, not a TIFF, or unsupported (the message names the file).</exception>
    /// <exception cref="InvalidDataException">A page is not 8-bit, or has another size than the first (the message names the file and the page).</exception>
    /// <exception cref="VolumeOutputException">An output could not be written (the disk is full; names the file and page).</exception>
    /// <exception cref="ArgumentException">A path is empty, or two of the files are the same.</exception>
    /// <exception cref="InvalidOperationException">The network does not take one channel or has fewer than two classes.</exception>
    public PredictionResult PredictVolume(string inputTiff, string outputProbabilitiesTiff, string? outputMasksTiff = null,
        string? overlayDirectory = null, IProgress<int>? progress = null)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        CheckPaths(inputTiff, outputProbabilitiesTiff, outputMasksTiff, overlayDirectory);
        CheckGreyTwoClass();
        var watch = Stopwatch.StartNew();
        using var source = new TiffStackSource(inputTiff);
        var tiffs = new TiffStackSink(outputProbabilitiesTiff, outputMasksTiff, resumable: false);
        using var sink = new OverlaySink(tiffs, overlayDirectory, Path.GetFileNameWithoutExtension(inputTiff));
        StreamPredictionResult streamed;
        try
        {
            streamed = PredictStream(source, sink, progress is null ? null : new PageCountProgress(progress));
        }
        catch (VolumePageException e)
        {
            throw new InvalidDataException(e.Message, e);
        }
        return new PredictionResult
        {
            InputPath = inputTiff,
            PageCount = streamed.PageCount,
            Height = streamed.Height,
            Width = streamed.Width,
            ProbabilitiesPath = outputProbabilitiesTiff,
            MasksPath = outputMasksTiff,
            OverlayPaths = sink.OverlayPaths,
            InteriorFraction = (double)sink.InteriorPixels / ((long)streamed.PageCount * streamed.Height * streamed.Width),
            Elapsed = watch.Elapsed,
        };
    }

    /// <summary>Tells an <see cref="IProgress{T}"/> of page counts the pages done (synchronously: the caller's order is kept).</summary>
    private sealed class PageCountProgress(IProgress<int> pages) : IProgress<VolumeProgress>
    {
        public void Report(VolumeProgress value)
        {
            if (value.PagesDone > value.PagesResumed) pages.Report(value.PagesDone);
        }
    }

    /// <summary>
    /// Segments one image file (PNG, TIFF or JPEG, grey or RGB like the training images, any size)
    /// and writes, into <paramref name="outputDirectory"/>, for the file's name without extension N:
    /// <list type="bullet">
    /// <item><c>N-mask.png</c>: 8-bit grey, the predicted class index per pixel (the most probable class);</item>
    /// <item><c>N-overlay.png</c>: the image with classes 1, 2, … tinted (<see cref="Overlays.BlendClasses"/>);</item>
    /// <item><c>N-probabilities.tif</c>: one float32 page per class, the class's probability per pixel.</item>
    /// </list>
    /// Files are written atomically and the folder made as needed.
    /// </summary>
    /// <exception cref="DataFileException">The image cannot be read, or its channels differ from the network's (the message names the file).</exception>
    public ImageFilePrediction PredictImageFile(string inputImage, string outputDirectory)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        ArgumentException.ThrowIfNullOrWhiteSpace(inputImage);
        ArgumentException.ThrowIfNullOrWhiteSpace(outputDirectory);
        var watch = Stopwatch.StartNew();
        var image = FolderImages.ReadImage(inputImage);
        if (image.Channels != Network.InputChannels)
            throw new DataFileException(inputImage, $"has {image.Channels} channel(s); the model takes {Network.InputChannels}");
        var prediction = Predict(image, nameof(inputImage), pictures: true);
        Directory.CreateDirectory(outputDirectory);
        string stem = Path.GetFileNameWithoutExtension(inputImage);
        string maskPath = Path.Combine(outputDirectory, $"{stem}-mask.png");
        string overlayPath = Path.Combine(outputDirectory, $"{stem}-overlay.png");
        string probabilitiesPath = Path.Combine(outputDirectory, $"{stem}-probabilities.tif");
        WriteAtomically(maskPath, prediction.MaskPng!);
        WriteAtomically(overlayPath, prediction.OverlayPng!);
        Tiff.Write(probabilitiesPath, new TiffVolume(prediction.Classes, image.Height, image.Width, prediction.Probabilities));
        return new ImageFilePrediction(inputImage, image.Height, image.Width, maskPath, overlayPath, probabilitiesPath,
            prediction.ClassShares(), watch.Elapsed);
    }

    private static void WriteAtomically(string path, byte[] bytes)
    {
        using var file = AtomicFile.Begin(path);
        file.Stream.Write(bytes);
        file.Commit();
    }

    /// <summary>The most probable class of pixel <paramref name="pixel"/> of image <paramref name="index"/> (the first on ties, as argmax).</summary>
    private static int ArgMax(FloatImages probabilities, int index, int pixel)
    {
        int best = 0;
        float top = probabilities.Plane(index, 0)[pixel];
        for (int k = 1; k < probabilities.Channels; k++)
        {
            float v = probabilities.Plane(index, k)[pixel];
            if (v > top) (best, top) = (k, v);
        }
        return best;
    }

    private static void CheckPaths(string inputTiff, string outputProbabilitiesTiff, string? outputMasksTiff, string? overlayDirectory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(inputTiff);
        ArgumentException.ThrowIfNullOrWhiteSpace(outputProbabilitiesTiff);
        if (outputMasksTiff is not null) ArgumentException.ThrowIfNullOrWhiteSpace(outputMasksTiff);
        if (overlayDirectory is not null) ArgumentException.ThrowIfNullOrWhiteSpace(overlayDirectory);
        var files = new List<(string Path, string Name)> { (inputTiff, nameof(inputTiff)), (outputProbabilitiesTiff, nameof(outputProbabilitiesTiff)) };
        if (outputMasksTiff is not null) files.Add((outputMasksTiff, nameof(outputMasksTiff)));
        for (int i = 0; i < files.Count; i++)
            for (int j = i + 1; j < files.Count; j++)
                if (string.Equals(Path.GetFullPath(files[i].Path), Path.GetFullPath(files[j].Path), StringComparison.Ordinal))
                    throw new ArgumentException($"{files[i].Name} and {files[j].Name} name the same file '{files[j].Path}'", files[j].Name);
    }

    private static void CreateParent(string path)
    {
        string? folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(folder)) Directory.CreateDirectory(folder);
    }
}

/// <summary>What <c>PredictImageFile</c> wrote.</summary>
/// <param name="InputPath">The image predicted.</param>
/// <param name="Height">Its height.</param>
/// <param name="Width">Its width.</param>
/// <param name="MaskPath">The class-index PNG.</param>
/// <param name="OverlayPath">The colour overlay PNG.</param>
/// <param name="ProbabilitiesPath">The float32 TIFF, one page per class.</param>
/// <param name="ClassShares">The share of pixels predicted as each class.</param>
/// <param name="Elapsed">The time taken, reading and writing included.</param>
public sealed record ImageFilePrediction(string InputPath, int Height, int Width, string MaskPath, string OverlayPath, string ProbabilitiesPath,
    IReadOnlyList<double> ClassShares, TimeSpan Elapsed);
