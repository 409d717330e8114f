namespace UNet.Segmentation.Imaging;

/// <summary>The container format <see cref="ImageFiles"/> found in a file's first bytes.</summary>
public enum ImageFileFormat
{
    /// <summary>PNG (signature 89 50 4E 47 0D 0A 1A 0A), decoded by SkiaSharp.</summary>
    Png,
    /// <summary>JPEG (FF D8 FF), decoded by SkiaSharp.</summary>
    Jpeg,
    /// <summary>TIFF ("II*\0" or "MM\0*"), decoded by LibTiff.NET.</summary>
    Tiff,
}

/// <summary>
/// One image's samples exactly as its file stores them: integers, row-major, channels interleaved
/// (sample (y, x, c) is at <c>(y * Width + x) * Channels + c</c>), alpha dropped, no colour
/// management, no gamma, no orientation applied.
/// </summary>
public sealed class DecodedImage
{
    /// <summary>Wraps <paramref name="samples"/> (kept, not copied) after checking the shape.</summary>
    /// <param name="width">Columns (at least 1).</param>
    /// <param name="height">Rows (at least 1).</param>
    /// <param name="channels">1 (grey) or 3 (red, green, blue).</param>
    /// <param name="bitsPerSample">The stored depth, 1 to 16; every sample is below 2^bitsPerSample.</param>
    /// <param name="samples">height × width × channels samples.</param>
    /// <param name="format">The file format it came from.</param>
    public DecodedImage(int width, int height, int channels, int bitsPerSample, ushort[] samples, ImageFileFormat format)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        if (channels is not (1 or 3)) throw new ArgumentOutOfRangeException(nameof(channels), channels, "1 (grey) or 3 (RGB)");
        ArgumentOutOfRangeException.ThrowIfLessThan(bitsPerSample, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(bitsPerSample, 16);
        ArgumentNullException.ThrowIfNull(samples);
        long expected = (long)width * height * channels;
        if (samples.Length != expected)
            throw new ArgumentException($"{samples.Length} samples given; {height}x{width} with {channels} channel(s) needs {expected}", nameof(samples));
        Width = width;
        Height = height;
        Channels = channels;
        BitsPerSample = bitsPerSample;
        Samples = samples;
        Format = format;
    }

    /// <summary>Columns.</summary>
    public int Width { get; }

    /// <summary>Rows.</summary>
    public int Height { get; }

    /// <summary>1 for greyscale, 3 for RGB.</summary>
    public int Channels { get; }

    /// <summary>
    /// The depth the file stores: 8 or 16, or 1, 2 or 4 for low-depth greyscale PNGs. Samples are the
    /// stored values, never rescaled: a 1-bit PNG gives 0 and 1, a 16-bit TIFF 0 to 65535.
    /// </summary>
    public int BitsPerSample { get; }

    /// <summary>The samples (the array itself), row-major, channels interleaved.</summary>
    public ushort[] Samples { get; }

    /// <summary>The file format the image came from.</summary>
    public ImageFileFormat Format { get; }

    /// <summary>The sample at row <paramref name="y"/>, column <paramref name="x"/>, channel <paramref name="channel"/>.</summary>
    public ushort this[int y, int x, int channel = 0]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfNegative(y);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(y, Height);
            ArgumentOutOfRangeException.ThrowIfNegative(x);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(x, Width);
            ArgumentOutOfRangeException.ThrowIfNegative(channel);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(channel, Channels);
            return Samples[((long)y * Width + x) * Channels + channel];
        }
    }
}
