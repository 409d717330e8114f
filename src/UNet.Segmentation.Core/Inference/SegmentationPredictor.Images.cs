using UNet.Segmentation.Data;
using UNet.Segmentation.Imaging;
using UNet.Segmentation.Visualization;

namespace UNet.Segmentation.Inference;

public abstract partial class SegmentationPredictor<TOptions>
{
    /// <summary>
    /// Segments a decoded image of any size, grey or RGB, 8- or 16-bit (<see cref="ImageFiles.Read(Stream, string)"/>
    /// decodes files), scaled to [−1, 1] as in training (x/(2^bits − 1)/2 − 1).
    /// </summary>
    /// <param name="image">The image; its channels must be the network's.</param>
    /// <param name="pictures">Also encode the mask and the overlay as PNG bytes.</param>
    /// <exception cref="ArgumentException">The image's channel count differs from the network's (<see cref="ArgumentException.ParamName"/> is "image").</exception>
    public ImagePrediction PredictImage(DecodedImage image, bool pictures = false)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        ArgumentNullException.ThrowIfNull(image);
        return Predict(FolderImages.FromDecoded(image), nameof(image), pictures);
    }

    /// <summary>
    /// Segments 8-bit pixels held in memory: <paramref name="height"/> × <paramref name="width"/> ×
    /// <paramref name="channels"/> samples, row-major, channels interleaved (1 = grey, 3 = RGB).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A dimension is below 1, or the channels are not 1 or 3.</exception>
    /// <exception cref="ArgumentException">The pixels' length does not fit the dimensions, or the channels differ from the network's (<see cref="ArgumentException.ParamName"/> is "pixels").</exception>
    public ImagePrediction PredictImage(ReadOnlySpan<byte> pixels, int height, int width, int channels, bool pictures = false)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        if (channels is not (1 or 3)) throw new ArgumentOutOfRangeException(nameof(channels), channels, "1 (grey) or 3 (RGB)");
        long expected = (long)height * width * channels;
        if (pixels.Length != expected)
            throw new ArgumentException($"{pixels.Length} bytes given; {height}x{width} with {channels} channel(s) needs {expected}", nameof(pixels));
        var samples = new ushort[pixels.Length];
        for (int i = 0; i < samples.Length; i++) samples[i] = pixels[i];
        var image = new DecodedImage(width, height, channels, 8, samples, ImageFileFormat.Png);
        return Predict(FolderImages.FromDecoded(image), nameof(pixels), pictures);
    }

    /// <summary>
    /// Segments an encoded PNG, JPEG or TIFF image read from <paramref name="encoded"/> (from its
    /// position to its end; not disposed), decoded as <see cref="ImageFiles"/> decodes files.
    /// </summary>
    /// <exception cref="ImageFormatException">The bytes are empty, damaged or in another format; the message calls them "the image stream".</exception>
    /// <exception cref="ArgumentException">The image's channel count differs from the network's (<see cref="ArgumentException.ParamName"/> is "encoded").</exception>
    public ImagePrediction PredictImage(Stream encoded, bool pictures = false)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        ArgumentNullException.ThrowIfNull(encoded);
        return Predict(FolderImages.FromDecoded(ImageFiles.Read(encoded, "the image stream")), nameof(encoded), pictures);
    }

    /// <summary>Segments the bytes of an encoded PNG, JPEG or TIFF file held in memory.</summary>
    /// <exception cref="ImageFormatException">The bytes are empty, damaged or in another format; the message calls them "the image bytes".</exception>
    /// <exception cref="ArgumentException">The image's channel count differs from the network's (<see cref="ArgumentException.ParamName"/> is "encoded").</exception>
    public ImagePrediction PredictImage(ReadOnlyMemory<byte> encoded, bool pictures = false)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        using var stream = new MemoryStream(encoded.ToArray(), writable: false);
        return Predict(FolderImages.FromDecoded(ImageFiles.Read(stream, "the image bytes")), nameof(encoded), pictures);
    }

    private ImagePrediction Predict(FolderImages.Image image, string parameter, bool pictures)
    {
        if (image.Channels != Network.InputChannels)
            throw new ArgumentException($"the image has {image.Channels} channel(s); the model takes {Network.InputChannels}", parameter);
        int area = image.Width * image.Height;
        var p = PredictProbabilities(new FloatImages(image.ToNetworkInput(), 1, image.Channels, image.Height, image.Width));
        var mask = new byte[area];
        for (int j = 0; j < area; j++) mask[j] = (byte)ArgMax(p, 0, j);
        var result = new ImagePrediction(image.Height, image.Width, p.Channels, mask, p.Data);
        return pictures
            ? result with
            {
                MaskPng = Png.EncodeGray(mask, image.Width, image.Height),
                OverlayPng = Png.EncodeRgb(Overlays.BlendClasses(image.ToBytes(), image.Channels, mask), image.Width, image.Height),
            }
            : result;
    }
}
