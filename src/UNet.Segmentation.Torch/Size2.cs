namespace UNet.Segmentation.Torch;

/// <summary>A (height, width) pair for kernels, strides and paddings; a single number means both.</summary>
public readonly record struct Size2(long Height, long Width)
{
    /// <summary>The same value for height and width.</summary>
    public static implicit operator Size2(long both) => new(both, both);

    /// <summary>From a (height, width) tuple.</summary>
    public static implicit operator Size2((long Height, long Width) pair) => new(pair.Height, pair.Width);

    internal void WriteTo(Span<long> destination)
    {
        destination[0] = Height;
        destination[1] = Width;
    }

    /// <inheritdoc />
    public override string ToString() => $"({Height}, {Width})";
}
