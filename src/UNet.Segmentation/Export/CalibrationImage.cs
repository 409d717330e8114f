using System.Globalization;
using UNet.Segmentation.Data;
using UNet.Segmentation.Imaging;
using UNet.Segmentation.Inference;

namespace UNet.Segmentation.Export;

/// <summary>
/// One image the int8 export calibrates on: a name (recorded in the model's metadata) and its
/// pixels as the predictors take them, 1×C×H×W in [−1, 1] (8-bit x/127.5 − 1, 16-bit
/// x/32767.5 − 1), any size: the calibration sends it through the prediction pipeline
/// (<see cref="Int8Quantization.Prediction"/>) as a predictor would.
/// </summary>
/// <param name="Name">What the metadata and error messages call it ("test-volume.tif[3]", "cells-01.png").</param>
/// <param name="Pixels">One image, 1×C×H×W, in [−1, 1].</param>
public sealed record CalibrationImage(string Name, FloatImages Pixels)
{
    /// <summary>The name.</summary>
    public string Name { get; init; } = !string.IsNullOrWhiteSpace(Name) ? Name : throw new ArgumentException("a calibration image needs a name", nameof(Name));

    /// <summary>The pixels: exactly one image.</summary>
    public FloatImages Pixels { get; init; } = Pixels is null ? throw new ArgumentNullException(nameof(Pixels))
        : Pixels.Count == 1 ? Pixels : throw new ArgumentException($"a calibration image holds one image; '{Name}' holds {Pixels.Count}", nameof(Pixels));

    /// <summary>An 8-bit grey image, row-major, scaled x/127.5 − 1 as in training and prediction.</summary>
    public static CalibrationImage FromGrayBytes(string name, ReadOnlySpan<byte> pixels, int height, int width) =>
        new(name, FloatImages.FromGrayBytes(pixels, 1, height, width));

    /// <summary>A decoded image (grey or RGB, 8- or 16-bit), scaled as <c>PredictImage</c> scales it.</summary>
    public static CalibrationImage FromDecoded(string name, DecodedImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        var stored = FolderImages.FromDecoded(image);
        return new(name, new FloatImages(stored.ToNetworkInput(), 1, stored.Channels, stored.Height, stored.Width));
    }
}

/// <summary>
/// Calibration images read from files: an ISBI 2012 folder, a TIFF stack, a folder of images or
/// one image (<see cref="Load"/>, what <c>unet export --int8 --calibration DATA</c> reads).
/// </summary>
public static class CalibrationImages
{
    /// <summary>The image files a folder of images is read for (any case).</summary>
    public static IReadOnlyList<string> Extensions { get; } = [".png", ".tif", ".tiff", ".jpg", ".jpeg"];

    /// <summary>
    /// The calibration images at <paramref name="path"/>:
    /// <list type="bullet">
    /// <item>an ISBI 2012 folder (one holding <c>test-volume.tif</c> or <c>train-volume.tif</c>):
    /// the slices of its test volume, which no fold trains or validates on, else of its training volume;</item>
    /// <item>another folder: every image file in it (<see cref="Extensions"/>, by ordinal name; one image per file);</item>
    /// <item>a <c>.tif</c>/<c>.tiff</c> file: every page of the stack (8- or 16-bit grey);</item>
    /// <item>another file: that one image (PNG or JPEG).</item>
    /// </list>
    /// With <paramref name="count"/>, that many evenly spaced ones (<see cref="Spread"/>).
    /// </summary>
    /// <exception cref="FileNotFoundException">Nothing is at <paramref name="path"/>.</exception>
    /// <exception cref="ArgumentException">The folder holds no images, or <paramref name="count"/> is below 1.</exception>
    /// <exception cref="DataFileException">An image cannot be read (the message names it).</exception>
    /// <exception cref="TiffFormatException">A TIFF stack is damaged or unsupported.</exception>
    public static IReadOnlyList<CalibrationImage> Load(string path, int? count = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (count is < 1) throw new ArgumentOutOfRangeException(nameof(count), count, "at least one calibration image");
        IReadOnlyList<CalibrationImage> images;
        if (Directory.Exists(path))
        {
            string test = Path.Combine(path, new IsbiFileNames().TestVolume), train = Path.Combine(path, new IsbiFileNames().TrainVolume);
            images = File.Exists(test) ? FromTiffStack(test) : File.Exists(train) ? FromTiffStack(train) : FromFolder(path);
        }
        else if (File.Exists(path))
        {
            string extension = Path.GetExtension(path).ToLowerInvariant();
            images = extension is ".tif" or ".tiff" ? FromTiffStack(path) : [FromFile(path)];
        }
        else throw new FileNotFoundException($"calibration data '{path}' does not exist (give an ISBI folder, a TIFF stack, a folder of images or an image)", path);
        return count is { } n ? Spread(images, n) : images;
    }

    /// <summary>Every page of a grey TIFF stack (8- or 16-bit), named <c>file.tif[page]</c>.</summary>
    public static IReadOnlyList<CalibrationImage> FromTiffStack(string path)
    {
        var volume = Tiff.Read(path);
        string name = Path.GetFileName(path);
        var result = new List<CalibrationImage>(volume.PageCount);
        for (int page = 0; page < volume.PageCount; page++)
        {
            string pageName = string.Create(CultureInfo.InvariantCulture, $"{name}[{page}]");
            result.Add(volume.SampleFormat switch
            {
                TiffSampleFormat.UInt8 => CalibrationImage.FromGrayBytes(pageName, volume.PageUInt8(page), volume.Height, volume.Width),
                TiffSampleFormat.UInt16 => new CalibrationImage(pageName, Scaled16(volume.PageUInt16(page), volume.Height, volume.Width)),
                _ => throw new DataFileException(path, $"holds {volume.SampleFormat} pages; calibration images are 8- or 16-bit as the predictors take them"),
            });
        }
        return result;
    }

    /// <summary>Every image file directly in <paramref name="folder"/> (<see cref="Extensions"/>), in ordinal order of name.</summary>
    public static IReadOnlyList<CalibrationImage> FromFolder(string folder)
    {
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"calibration folder '{folder}' does not exist");
        var files = Directory.EnumerateFiles(folder)
            .Where(f => Extensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
            .Order(StringComparer.Ordinal).ToList();
        if (files.Count == 0)
            throw new ArgumentException($"calibration folder '{folder}' holds no images ({string.Join(", ", Extensions)})", nameof(folder));
        return files.Select(FromFile).ToList();
    }

    /// <summary>One image file (PNG, TIFF's first page, JPEG; grey or RGB, 8- or 16-bit), named by its file name.</summary>
    public static CalibrationImage FromFile(string path) => CalibrationImage.FromDecoded(Path.GetFileName(path), ImageFiles.Read(path));

    /// <summary>
    /// <paramref name="count"/> of <paramref name="images"/>, evenly spaced (the first, the last and
    /// between; all of them when there are no more than <paramref name="count"/>).
    /// </summary>
    public static IReadOnlyList<CalibrationImage> Spread(IReadOnlyList<CalibrationImage> images, int count)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        if (images.Count <= count) return images;
        if (count == 1) return [images[0]];
        return Enumerable.Range(0, count).Select(i => images[(int)Math.Round(i * (images.Count - 1) / (double)(count - 1))]).ToList();
    }

    private static FloatImages Scaled16(ReadOnlySpan<ushort> page, int height, int width)
    {
        var data = new float[page.Length];
        const float half = 65535f / 2;
        for (int i = 0; i < data.Length; i++) data[i] = page[i] / half - 1f;
        return new FloatImages(data, 1, 1, height, width);
    }
}
