using System.Text.Json.Serialization;

namespace UNet.Segmentation.Data.Msd;

/// <summary>
/// The spatial size of a volume in NumPy's order, (depth, height, width) = (z, y, x): the last
/// axis varies fastest in memory, as NIfTI stores x fastest and as the reference's arrays
/// (C, D, H, W) hold it after its <c>transpose(3, 2, 1, 0)</c>.
/// </summary>
/// <param name="Depth">Voxels along z.</param>
/// <param name="Height">Voxels along y.</param>
/// <param name="Width">Voxels along x.</param>
public readonly record struct Shape3D(int Depth, int Height, int Width)
{
    /// <summary>Depth × height × width.</summary>
    [JsonIgnore]
    public int Voxels => checked(Depth * Height * Width);

    /// <summary>The size along axis 0 (z), 1 (y) or 2 (x).</summary>
    public int this[int axis] => axis switch
    {
        0 => Depth,
        1 => Height,
        2 => Width,
        _ => throw new ArgumentOutOfRangeException(nameof(axis), axis, "axes are 0 (z), 1 (y) and 2 (x)"),
    };

    /// <summary>The sizes as an array (z, y, x).</summary>
    public int[] ToArray() => [Depth, Height, Width];

    /// <summary>A shape from three sizes (z, y, x), each at least 1.</summary>
    /// <exception cref="ArgumentException">Not three sizes, or one below 1.</exception>
    public static Shape3D From(IReadOnlyList<int> sizes)
    {
        ArgumentNullException.ThrowIfNull(sizes);
        if (sizes.Count != 3) throw new ArgumentException($"a 3-D shape has 3 sizes, not {sizes.Count}", nameof(sizes));
        if (sizes.Any(s => s < 1)) throw new ArgumentException($"every size must be at least 1, not ({string.Join(", ", sizes)})", nameof(sizes));
        return new Shape3D(sizes[0], sizes[1], sizes[2]);
    }

    /// <inheritdoc />
    public override string ToString() => $"{Depth}×{Height}×{Width}";
}

/// <summary>
/// A box of voxels, [start, end) along each axis, in the order (z, y, x) of <see cref="Shape3D"/>.
/// </summary>
/// <param name="StartZ">First z inside.</param>
/// <param name="StartY">First y inside.</param>
/// <param name="StartX">First x inside.</param>
/// <param name="EndZ">First z past the box.</param>
/// <param name="EndY">First y past the box.</param>
/// <param name="EndX">First x past the box.</param>
public readonly record struct Box3D(int StartZ, int StartY, int StartX, int EndZ, int EndY, int EndX)
{
    /// <summary>The box's size.</summary>
    [JsonIgnore]
    public Shape3D Shape => new(EndZ - StartZ, EndY - StartY, EndX - StartX);

    /// <summary>The start along axis 0 (z), 1 (y) or 2 (x).</summary>
    public int Start(int axis) => axis switch { 0 => StartZ, 1 => StartY, 2 => StartX, _ => throw new ArgumentOutOfRangeException(nameof(axis)) };

    /// <summary>The end (exclusive) along axis 0 (z), 1 (y) or 2 (x).</summary>
    public int End(int axis) => axis switch { 0 => EndZ, 1 => EndY, 2 => EndX, _ => throw new ArgumentOutOfRangeException(nameof(axis)) };

    /// <summary>The whole of a volume of <paramref name="shape"/>.</summary>
    public static Box3D Whole(Shape3D shape) => new(0, 0, 0, shape.Depth, shape.Height, shape.Width);

    /// <inheritdoc />
    public override string ToString() => $"[{StartZ}:{EndZ}, {StartY}:{EndY}, {StartX}:{EndX}]";
}
