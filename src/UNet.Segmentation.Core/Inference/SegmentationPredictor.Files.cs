using System.Diagnostics;
using UNet.Segmentation.Data;
using UNet.Segmentation.Imaging;
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
    /// time; <paramref name="progress"/> hears the number of pages done after each page. Files are
    /// written atomically, folders created as needed.
    /// </summary>
    /// <exception cref="FileNotFoundException">The input does not exist.</exception>
    /// <exception cref="TiffFormatException">The input is damaged, not a TIFF, or unsupported (the message names the file).</exception>
    /// <exception cref="InvalidDataException">The input's pages are not 8-bit (the message names the file).</exception>
    /// <exception cref="ArgumentException">A path is empty, or two of the files are the same.</exception>
    /// <exception cref="InvalidOperationException">The network does not take one channel or has fewer than two classes.</exception>
    public PredictionResult PredictVolume(string inputTiff, string outputProbabilitiesTiff, string? outputMasksTiff = null,
        string? overlayDirectory = null, IProgress<int>? progress = null)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        CheckPaths(inputTiff, outputProbabilitiesTiff, outputMasksTiff, overlayDirectory);
        CheckGreyTwoClass();
        var watch = Stopwatch.StartNew();
        var volume = Tiff.Read(inputTiff);
        if (volume.SampleFormat != TiffSampleFormat.UInt8)
            throw new InvalidDataException(
                $"TIFF file '{inputTiff}': the pages hold {volume.SampleFormat} samples; prediction needs 8-bit greyscale slices (0–255, as the ISBI volumes)");
        int pages = volume.PageCount, height = volume.Height, width = volume.Width, area = volume.PixelsPerPage;
        var probabilities = new float[(long)pages * area];
        var masks = new byte[(long)pages * area];
        var slices = volume.GetUInt8();
        for (int start = 0; start < pages; start += Options.BatchSize)
        {
            int count = Math.Min(Options.BatchSize, pages - start);
            var p = PredictProbabilities(FloatImages.FromGrayBytes(slices.AsSpan(start * area, count * area), count, height, width));
            for (int i = 0; i < count; i++)
            {
                var interior = p.Plane(i, 1);
                interior.CopyTo(probabilities.AsSpan((start + i) * area, area));
                var mask = masks.AsSpan((start + i) * area, area);
                if (p.Channels == 2)
                    for (int j = 0; j < area; j++) mask[j] = interior[j] >= 0.5f ? (byte)255 : (byte)0;
                else
                    for (int j = 0; j < area; j++) mask[j] = ArgMax(p, i, j) == 1 ? (byte)255 : (byte)0;
            }
            for (int page = start; page < start + count; page++) progress?.Report(page + 1);
        }

        CreateParent(outputProbabilitiesTiff);
        Tiff.Write(outputProbabilitiesTiff, new TiffVolume(pages, height, width, probabilities));
        if (outputMasksTiff is not null)
        {
            CreateParent(outputMasksTiff);
            Tiff.Write(outputMasksTiff, new TiffVolume(pages, height, width, masks), TiffCompression.Deflate);
        }
        var overlays = new List<string>();
        if (overlayDirectory is not null)
        {
            Directory.CreateDirectory(overlayDirectory);
            string stem = Path.GetFileNameWithoutExtension(inputTiff);
            for (int page = 0; page < pages; page++)
            {
                string path = Path.Combine(overlayDirectory, $"{stem}-{page:D4}.png");
                Png.WriteRgb(path, Overlays.Blend(volume.PageUInt8(page), masks.AsSpan(page * area, area)), width, height);
                overlays.Add(path);
            }
        }
        long interiorPixels = 0;
        foreach (byte m in masks) if (m != 0) interiorPixels++;
        return new PredictionResult
        {
            InputPath = inputTiff,
            PageCount = pages,
            Height = height,
            Width = width,
            ProbabilitiesPath = outputProbabilitiesTiff,
            MasksPath = outputMasksTiff,
            OverlayPaths = overlays,
            InteriorFraction = (double)interiorPixels / masks.Length,
            Elapsed = watch.Elapsed,
        };
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
