namespace UNet.Segmentation.Inference;

/// <summary>
/// N×C×H×W float32 values, row-major (the layout of a contiguous NCHW tensor): images in [−1, 1]
/// going into a network, or per-class probabilities coming out.
/// </summary>
public sealed class FloatImages
{
    /// <summary>Wraps <paramref name="data"/> (not copied) as <paramref name="count"/>×<paramref name="channels"/>×<paramref name="height"/>×<paramref name="width"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A dimension is below 1.</exception>
    /// <exception cref="ArgumentException">The data's length is not the product of the dimensions.</exception>
    public FloatImages(float[] data, int count, int channels, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        long length = (long)count * channels * height * width;
        if (data.LongLength != length)
            throw new ArgumentException($"{data.LongLength} values do not make {count}×{channels}×{height}×{width} ({length})", nameof(data));
        Data = data;
        Count = count;
        Channels = channels;
        Height = height;
        Width = width;
    }

    /// <summary>New zeros of the given shape.</summary>
    public static FloatImages Zeros(int count, int channels, int height, int width) =>
        new(new float[checked((long)count * channels * height * width)], count, channels, height, width);

    /// <summary>8-bit grey slices as N×1×H×W in [−1, 1]: x / 127.5 − 1 (the reference's scaling), computed in float32 as the tensor path does.</summary>
    public static FloatImages FromGrayBytes(ReadOnlySpan<byte> slices, int count, int height, int width)
    {
        if (slices.Length != (long)count * height * width)
            throw new ArgumentException($"{slices.Length} bytes do not make {count} slices of {height}×{width}", nameof(slices));
        var data = new float[slices.Length];
        for (int i = 0; i < data.Length; i++) data[i] = slices[i] / 127.5f - 1f;
        return new FloatImages(data, count, 1, height, width);
    }

    /// <summary>The values.</summary>
    public float[] Data { get; }

    /// <summary>N.</summary>
    public int Count { get; }

    /// <summary>C.</summary>
    public int Channels { get; }

    /// <summary>H.</summary>
    public int Height { get; }

    /// <summary>W.</summary>
    public int Width { get; }

    /// <summary>H·W.</summary>
    public int Area => Height * Width;

    /// <summary>One image's C·H·W values.</summary>
    public Span<float> Image(int index) => Data.AsSpan(checked(index * Channels * Area), Channels * Area);

    /// <summary>One plane (image <paramref name="index"/>, channel <paramref name="channel"/>).</summary>
    public Span<float> Plane(int index, int channel) => Data.AsSpan(checked((index * Channels + channel) * Area), Area);

    /// <summary>The images mirrored left–right (<paramref name="horizontal"/>) and/or top–bottom (<paramref name="vertical"/>), as a copy.</summary>
    public FloatImages Flipped(bool horizontal, bool vertical)
    {
        var result = new float[Data.Length];
        int h = Height, w = Width;
        for (int plane = 0; plane < Count * Channels; plane++)
        {
            int offset = plane * Area;
            for (int y = 0; y < h; y++)
            {
                var from = Data.AsSpan(offset + (vertical ? h - 1 - y : y) * w, w);
                var to = result.AsSpan(offset + y * w, w);
                from.CopyTo(to);
                if (horizontal) to.Reverse();
            }
        }
        return new FloatImages(result, Count, Channels, Height, Width);
    }

    /// <summary>"N×C×H×W" in numbers.</summary>
    public override string ToString() => $"[{Count}, {Channels}, {Height}, {Width}]";
}
