using System.Diagnostics;
using UNet.Segmentation.Data;
using UNet.Segmentation.Imaging;
using UNet.Segmentation.Visualization;
using static TorchSharp.torch;

namespace UNet.Segmentation.Inference;

public sealed partial class Predictor
{
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
    /// <exception cref="DataFileException">The image cannot be read, or its channels differ from the model's (the message names the file).</exception>
    public ImageFilePrediction PredictImageFile(string inputImage, string outputDirectory)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentException.ThrowIfNullOrWhiteSpace(inputImage);
        ArgumentException.ThrowIfNullOrWhiteSpace(outputDirectory);
        var watch = Stopwatch.StartNew();
        var image = FolderImages.ReadImage(inputImage);
        if (image.Channels != Model.Options.InputChannels)
            throw new DataFileException(inputImage, $"has {image.Channels} channel(s); the model takes {Model.Options.InputChannels}");
        int classes = Model.Options.Classes, area = image.Width * image.Height;
        var probabilities = new float[(long)classes * area];
        var mask = new byte[area];
        using (var scope = NewDisposeScope())
        {
            var p = PredictProbabilities(image.ToTensor());
            CopyOut(p, probabilities);
            CopyOut(p.argmax(1).to(ScalarType.Byte), mask);
        }
        Directory.CreateDirectory(outputDirectory);
        string stem = Path.GetFileNameWithoutExtension(inputImage);
        string maskPath = Path.Combine(outputDirectory, $"{stem}-mask.png");
        string overlayPath = Path.Combine(outputDirectory, $"{stem}-overlay.png");
        string probabilitiesPath = Path.Combine(outputDirectory, $"{stem}-probabilities.tif");
        Png.WriteGray(maskPath, mask, image.Width, image.Height);
        Png.WriteRgb(overlayPath, Overlays.BlendClasses(image.ToBytes(), image.Channels, mask), image.Width, image.Height);
        Tiff.Write(probabilitiesPath, new TiffVolume(classes, image.Height, image.Width, probabilities));
        var share = new double[classes];
        foreach (byte m in mask) share[m]++;
        return new ImageFilePrediction(inputImage, image.Height, image.Width, maskPath, overlayPath, probabilitiesPath,
            share.Select(s => s / area).ToArray(), watch.Elapsed);
    }
}

/// <summary>What <see cref="Predictor.PredictImageFile"/> wrote.</summary>
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
