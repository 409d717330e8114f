using System.Numerics;

namespace UNet.Segmentation.Imaging.Nifti;

/// <summary>
/// A NIfTI volume: its header and its voxels as stored, in one typed array (<c>byte[]</c>,
/// <c>sbyte[]</c>, <c>short[]</c>, <c>ushort[]</c>, <c>int[]</c>, <c>uint[]</c>, <c>long[]</c>,
/// <c>float[]</c> or <c>double[]</c>, by <see cref="DataType"/>).
/// </summary>
/// <remarks>
/// <para>The shape is (X, Y, Z[, T]) with x varying fastest, as NIfTI stores it: voxel
/// (x, y, z, t) is at <c>x + X * (y + Y * (z + Z * t))</c> (<see cref="IndexOf"/>). A 4th
/// dimension holds time points or, for multi-modal MRI, the channels; images of 1 or 2 dimensions
/// have the shape (X) or (X, Y).</para>
/// <para>The image keeps the array it is given (no copy) and a copy of the header. Its header
/// may be changed (geometry, description, scaling…); the dimensions and the array's length are
/// checked again when the image is written.</para>
/// </remarks>
public sealed class NiftiImage
{
    private readonly Array _data;

    /// <summary>Creates an image of <paramref name="data"/> described by a copy of <paramref name="header"/>.</summary>
    /// <param name="header">The header; its <see cref="NiftiHeader.Dim"/> must describe as many voxels as <paramref name="data"/> holds. Its data type is set from the array.</param>
    /// <param name="data">The voxels, x fastest: a one-dimensional array of one of the types of <see cref="NiftiDataType"/> (kept, not copied).</param>
    public NiftiImage(NiftiHeader header, Array data)
    {
        ArgumentNullException.ThrowIfNull(header);
        ArgumentNullException.ThrowIfNull(data);
        var type = data.Rank == 1 ? NiftiDataTypes.FromElementType(data.GetType().GetElementType()!) : null;
        if (type is null)
            throw new ArgumentException($"the voxels must be a one-dimensional array of byte, sbyte, short, ushort, int, uint, long, float or double, not {data.GetType().Name}", nameof(data));
        Header = header.Clone();
        Header.DataType = type.Value;
        CheckLength(Header, data);
        _data = data;
    }

    /// <summary>An image of <paramref name="data"/> with the given shape and a default header (voxel size 1, no transform set, NIfTI-1).</summary>
    /// <typeparam name="T">One of the voxel types of <see cref="NiftiDataType"/>.</typeparam>
    /// <param name="data">The voxels, x fastest (kept, not copied).</param>
    /// <param name="shape">(X[, Y[, Z[, T]]]).</param>
    public static NiftiImage Create<T>(T[] data, params int[] shape)
        where T : unmanaged
    {
        var header = new NiftiHeader();
        header.SetShape(shape);
        return new NiftiImage(header, data);
    }

    /// <summary>The header (a copy of the one given; <see cref="NiftiHeader.DataType"/> follows the array).</summary>
    public NiftiHeader Header { get; }

    /// <summary>The voxels' type.</summary>
    public NiftiDataType DataType => Header.DataType;

    /// <summary>The sizes (X, Y, Z[, T]), x varying fastest in <see cref="Data"/>.</summary>
    public int[] Shape => NiftiShape.Check(Header.Dim, message => new InvalidOperationException($"the header's dimensions were changed: {message}"));

    /// <summary>The number of voxels, the length of <see cref="Data"/>.</summary>
    public int VoxelCount => _data.Length;

    /// <summary>The voxels as stored (unscaled), the array itself.</summary>
    public Array Data => _data;

    /// <summary>The voxels as stored (unscaled), the array itself.</summary>
    /// <typeparam name="T">The element type of <see cref="DataType"/>.</typeparam>
    /// <exception cref="InvalidOperationException">The image holds voxels of another type.</exception>
    public T[] GetData<T>()
        where T : unmanaged =>
        _data.GetType() == typeof(T[]) // exactly: the runtime would let a ushort[] pass as a short[]
            ? (T[])_data
            : throw new InvalidOperationException($"the image holds {DataType} voxels ({_data.GetType().GetElementType()!.Name}), not {typeof(T).Name}; use GetData<{_data.GetType().GetElementType()!.Name}>() or ToScaledFloat32()");

    /// <summary>
    /// True when <see cref="NiftiHeader.SclSlope"/> and <see cref="NiftiHeader.SclInter"/> change the
    /// values: the slope is finite and not 0, and the pair is not (1, 0).
    /// </summary>
    public bool IsScaled
    {
        get
        {
            var (slope, inter) = Scaling();
            return slope != 1 || inter != 0;
        }
    }

    /// <summary>
    /// A new array of every voxel's value after scaling, <c>v * scl_slope + scl_inter</c>, computed
    /// in double precision and rounded to float. A slope of 0 or a non-finite slope means no
    /// scaling (the NIfTI rule); a non-finite intercept counts as 0.
    /// </summary>
    public float[] ToScaledFloat32() => Convert<float>();

    /// <summary>As <see cref="ToScaledFloat32"/>, in double precision.</summary>
    public double[] ToScaledFloat64() => Convert<double>();

    /// <summary>The voxel-to-world affine (<see cref="NiftiAffine.Best"/>): a 4×4 matrix mapping (x, y, z, 1) indices to world coordinates.</summary>
    public double[,] GetAffine() => NiftiAffine.Best(Header);

    /// <summary>The index in <see cref="Data"/> of voxel (x, y, z, t): <c>x + X * (y + Y * (z + Z * t))</c>.</summary>
    /// <param name="x">Along the first dimension.</param>
    /// <param name="y">Along the second dimension (0 when there is none).</param>
    /// <param name="z">Along the third dimension (0 when there is none).</param>
    /// <param name="t">Along the fourth dimension (0 when there is none).</param>
    public int IndexOf(int x, int y = 0, int z = 0, int t = 0)
    {
        long[] dim = Header.Dim;
        int rank = Header.Rank;
        long index = 0;
        for (int i = 3; i >= 0; i--)
        {
            long size = i < rank ? dim[i + 1] : 1;
            int at = i switch { 0 => x, 1 => y, 2 => z, _ => t };
            if (at < 0 || at >= size) throw new ArgumentOutOfRangeException("xyzt"[i].ToString(), at, $"outside 0..{size - 1}");
            index = index * size + at;
        }
        if (index >= _data.Length) throw new InvalidOperationException("the header's dimensions were changed and no longer match the voxels");
        return (int)index;
    }

    /// <summary>
    /// A new image in this one's space: a copy of the header (geometry, units, description,
    /// qform, sform, every other field) holding <paramref name="data"/>, for example a label map
    /// predicted from this image. What would misdescribe the new voxels is reset: the data type
    /// follows the array, the scaling becomes (1, 0), <c>cal_min</c>/<c>cal_max</c>,
    /// <c>glmin</c>/<c>glmax</c> and the intent (code, parameters, name) become 0.
    /// </summary>
    /// <param name="data">The new voxels, x fastest (kept, not copied).</param>
    /// <param name="shape">The new shape; when empty, this image's shape if <paramref name="data"/>
    /// has as many voxels, else (X, Y, Z) if it has as many as one volume of a 4-D image (a label map
    /// of a multi-channel image).</param>
    /// <exception cref="ArgumentException">The data's length fits neither shape.</exception>
    public NiftiImage Like(Array data, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(shape);
        var header = Header.Clone();
        int[] own = Shape;
        if (shape.Length == 0)
        {
            if (data.Length != VoxelCount)
            {
                if (own.Length == 4 && data.Length == (long)own[0] * own[1] * own[2]) header.SetShape(own[0], own[1], own[2]);
                else throw new ArgumentException($"the data holds {data.Length} voxels, fitting neither the shape ({string.Join(", ", own)}) nor its first three dimensions; pass the shape", nameof(data));
            }
        }
        else if (!shape.SequenceEqual(own))
        {
            header.SetShape(shape);
        }
        header.SclSlope = 1;
        header.SclInter = 0;
        header.CalMin = header.CalMax = 0;
        header.GlMin = header.GlMax = 0;
        header.IntentCode = 0;
        header.IntentP1 = header.IntentP2 = header.IntentP3 = 0;
        header.IntentName = "";
        return new NiftiImage(header, data);
    }

    /// <summary>Throws <see cref="ArgumentException"/> unless the header's dimensions describe <paramref name="data"/>'s length.</summary>
    internal static void CheckLength(NiftiHeader header, Array data)
    {
        int[] shape = NiftiShape.Check(header.Dim, message => new ArgumentException($"the header's dimensions are unusable: {message}", nameof(header)));
        long voxels = shape.Aggregate(1L, (product, size) => product * size);
        if (voxels != data.Length)
            throw new ArgumentException($"the header's dimensions ({string.Join(", ", shape)}) make {voxels} voxels but the array holds {data.Length}", nameof(data));
    }

    private (double Slope, double Inter) Scaling()
    {
        double slope = Header.SclSlope, inter = Header.SclInter;
        if (slope == 0 || !double.IsFinite(slope)) return (1, 0);
        return (slope, double.IsFinite(inter) ? inter : 0);
    }

    private TOut[] Convert<TOut>()
        where TOut : unmanaged, IFloatingPointIeee754<TOut>
    {
        var (slope, inter) = Scaling();
        // by the data type, not by type patterns: the runtime lets an sbyte[] pass as a byte[], a ushort[] as a short[]…
        return DataType switch
        {
            NiftiDataType.UInt8 => Convert<byte, TOut>((byte[])_data, slope, inter),
            NiftiDataType.Int8 => Convert<sbyte, TOut>((sbyte[])_data, slope, inter),
            NiftiDataType.Int16 => Convert<short, TOut>((short[])_data, slope, inter),
            NiftiDataType.UInt16 => Convert<ushort, TOut>((ushort[])_data, slope, inter),
            NiftiDataType.Int32 => Convert<int, TOut>((int[])_data, slope, inter),
            NiftiDataType.UInt32 => Convert<uint, TOut>((uint[])_data, slope, inter),
            NiftiDataType.Int64 => Convert<long, TOut>((long[])_data, slope, inter),
            NiftiDataType.Float32 => Convert<float, TOut>((float[])_data, slope, inter),
            _ => Convert<double, TOut>((double[])_data, slope, inter),
        };
    }

    private static TOut[] Convert<TIn, TOut>(TIn[] source, double slope, double inter)
        where TIn : unmanaged, INumberBase<TIn>
        where TOut : unmanaged, IFloatingPointIeee754<TOut>
    {
        var result = new TOut[source.Length];
        bool scale = slope != 1 || inter != 0;
        for (int i = 0; i < source.Length; i++)
        {
            double value = double.CreateTruncating(source[i]);
            if (scale) value = value * slope + inter;
            result[i] = TOut.CreateTruncating(value);
        }
        return result;
    }
}
