using System.Diagnostics;
using UNet.Segmentation.Data;
using UNet.Segmentation.Imaging;
using static TorchSharp.torch;
using UNet.Segmentation.Visualization;

namespace UNet.Segmentation.Inference;

public sealed partial class Predictor
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
    /// Pages go through <see cref="PredictProbabilities"/> <see cref="PredictorOptions.BatchSize"/> at a
    /// time; <paramref name="progress"/> hears the number of pages done after each page. Files are
    /// written atomically, folders created as needed.
    /// </summary>
    /// <exception cref="FileNotFoundException">The input does not exist.</exception>
    /// <exception cref="TiffFormatException">The input is damaged, not a TIFF, or unsupported (the message names the file).</exception>
    /// <exception cref="InvalidDataException">The input's pages are not 8-bit (the message names the file).</exception>
    /// <exception cref="ArgumentException">A path is empty, or two of the files are the same.</exception>
    /// <exception cref="InvalidOperationException">The model does not take one channel or has fewer than two classes.</exception>
    public PredictionResult PredictVolume(string inputTiff, string outputProbabilitiesTiff, string? outputMasksTiff = null,
        string? overlayDirectory = null, IProgress<int>? progress = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
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
            using (var scope = NewDisposeScope())
            {
                var images = Preprocessing.Images(slices.AsSpan(start * area, count * area), count, height, width);
                var p = PredictProbabilities(images);
                var interior = p.select(1, 1);
                CopyOut(interior, probabilities.AsSpan(start * area, count * area));
                var isInterior = Model.Options.Classes == 2 ? interior.ge(0.5) : p.argmax(1).eq(1);
                CopyOut(isInterior.to(ScalarType.Byte).mul(255L), masks.AsSpan(start * area, count * area));
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
