namespace UNet.Segmentation.Data.Msd;

/// <summary>
/// A channels-first 3-D volume in one flat array, C-order (channel, z, y, x): the element of
/// channel c at (z, y, x) is at <c>((c·D + z)·H + y)·W + x</c>. That is NIfTI's own order for an
/// (X, Y, Z, C) image, so a NIfTI image's voxels are a volume without reordering, and the
/// reference's (C, D, H, W) NumPy arrays, and a TorchSharp tensor of that shape.
/// </summary>
/// <typeparam name="T">The element type: <see cref="float"/> for images, <see cref="byte"/> for labels.</typeparam>
public sealed class Volume<T>
    where T : unmanaged
{
    /// <summary>A volume over <paramref name="data"/> (kept, not copied).</summary>
    /// <param name="data">C·D·H·W elements.</param>
    /// <param name="channels">C, at least 1.</param>
    /// <param name="shape">(D, H, W).</param>
    /// <exception cref="ArgumentException">The array's length is not C·D·H·W.</exception>
    public Volume(T[] data, int channels, Shape3D shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 1);
        if (shape.Depth < 1 || shape.Height < 1 || shape.Width < 1) throw new ArgumentException($"every size must be at least 1, not {shape}", nameof(shape));
        if ((long)channels * shape.Voxels != data.Length)
            throw new ArgumentException($"{channels} channel(s) of {shape} make {(long)channels * shape.Voxels} elements, but the array holds {data.Length}", nameof(data));
        Data = data;
        Channels = channels;
        Shape = shape;
    }

    /// <summary>A zero-filled volume.</summary>
    public static Volume<T> Zeros(int channels, Shape3D shape) => new(new T[checked(channels * shape.Voxels)], channels, shape);

    /// <summary>The elements, C-order (channel, z, y, x); the array itself.</summary>
    public T[] Data { get; }

    /// <summary>How many channels (modalities).</summary>
    public int Channels { get; }

    /// <summary>The spatial size (D, H, W).</summary>
    public Shape3D Shape { get; }

    /// <summary>One channel's elements (z, y, x order).</summary>
    public Span<T> Channel(int channel)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(channel);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(channel, Channels);
        int n = Shape.Voxels;
        return Data.AsSpan(channel * n, n);
    }

    /// <summary>The element of <paramref name="channel"/> at (z, y, x).</summary>
    public T this[int channel, int z, int y, int x] => Data[((channel * Shape.Depth + z) * Shape.Height + y) * Shape.Width + x];
}
