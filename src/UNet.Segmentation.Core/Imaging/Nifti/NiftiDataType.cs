namespace UNet.Segmentation.Imaging.Nifti;

/// <summary>
/// The voxel types this library reads and writes, with their NIfTI <c>datatype</c> codes. NIfTI
/// defines more (complex, RGB, RGBA, 128-bit float, 1-bit); files holding them are refused with a
/// <see cref="NiftiFormatException"/> naming the code.
/// </summary>
public enum NiftiDataType : short
{
    /// <summary>Unsigned 8-bit integers (<c>DT_UINT8</c>, 2): <see cref="byte"/>.</summary>
    UInt8 = 2,

    /// <summary>Signed 16-bit integers (<c>DT_INT16</c>, 4): <see cref="short"/>.</summary>
    Int16 = 4,

    /// <summary>Signed 32-bit integers (<c>DT_INT32</c>, 8): <see cref="int"/>.</summary>
    Int32 = 8,

    /// <summary>32-bit IEEE floats (<c>DT_FLOAT32</c>, 16): <see cref="float"/>.</summary>
    Float32 = 16,

    /// <summary>64-bit IEEE floats (<c>DT_FLOAT64</c>, 64): <see cref="double"/>.</summary>
    Float64 = 64,

    /// <summary>Signed 8-bit integers (<c>DT_INT8</c>, 256): <see cref="sbyte"/>.</summary>
    Int8 = 256,

    /// <summary>Unsigned 16-bit integers (<c>DT_UINT16</c>, 512): <see cref="ushort"/>.</summary>
    UInt16 = 512,

    /// <summary>Unsigned 32-bit integers (<c>DT_UINT32</c>, 768): <see cref="uint"/>.</summary>
    UInt32 = 768,

    /// <summary>Signed 64-bit integers (<c>DT_INT64</c>, 1024): <see cref="long"/>.</summary>
    Int64 = 1024,
}

/// <summary>Sizes, element types and names of the NIfTI data types.</summary>
internal static class NiftiDataTypes
{
    /// <summary>True for the codes of <see cref="NiftiDataType"/>.</summary>
    public static bool IsSupported(int code) => code is 2 or 4 or 8 or 16 or 64 or 256 or 512 or 768 or 1024;

    /// <summary>Bytes per voxel of a supported type.</summary>
    public static int Size(NiftiDataType type) => type switch
    {
        NiftiDataType.UInt8 or NiftiDataType.Int8 => 1,
        NiftiDataType.Int16 or NiftiDataType.UInt16 => 2,
        NiftiDataType.Int32 or NiftiDataType.UInt32 or NiftiDataType.Float32 => 4,
        NiftiDataType.Int64 or NiftiDataType.Float64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "not a supported NIfTI data type"),
    };

    /// <summary>The .NET element type that holds a voxel of <paramref name="type"/>.</summary>
    public static Type ElementType(NiftiDataType type) => type switch
    {
        NiftiDataType.UInt8 => typeof(byte),
        NiftiDataType.Int8 => typeof(sbyte),
        NiftiDataType.Int16 => typeof(short),
        NiftiDataType.UInt16 => typeof(ushort),
        NiftiDataType.Int32 => typeof(int),
        NiftiDataType.UInt32 => typeof(uint),
        NiftiDataType.Int64 => typeof(long),
        NiftiDataType.Float32 => typeof(float),
        NiftiDataType.Float64 => typeof(double),
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "not a supported NIfTI data type"),
    };

    /// <summary>The data type whose voxels an array of <paramref name="elementType"/> holds, or null.</summary>
    public static NiftiDataType? FromElementType(Type elementType) =>
        elementType == typeof(byte) ? NiftiDataType.UInt8
        : elementType == typeof(sbyte) ? NiftiDataType.Int8
        : elementType == typeof(short) ? NiftiDataType.Int16
        : elementType == typeof(ushort) ? NiftiDataType.UInt16
        : elementType == typeof(int) ? NiftiDataType.Int32
        : elementType == typeof(uint) ? NiftiDataType.UInt32
        : elementType == typeof(long) ? NiftiDataType.Int64
        : elementType == typeof(float) ? NiftiDataType.Float32
        : elementType == typeof(double) ? NiftiDataType.Float64
        : null;

    /// <summary>A new array of <paramref name="length"/> voxels of <paramref name="type"/>.</summary>
    public static Array Allocate(NiftiDataType type, int length) => Array.CreateInstance(ElementType(type), length);

    /// <summary>The NIfTI name of a data type code, supported or not (for messages).</summary>
    public static string Name(int code) => code switch
    {
        0 => "DT_UNKNOWN",
        1 => "DT_BINARY",
        2 => "DT_UINT8",
        4 => "DT_INT16",
        8 => "DT_INT32",
        16 => "DT_FLOAT32",
        32 => "DT_COMPLEX64",
        64 => "DT_FLOAT64",
        128 => "DT_RGB24",
        256 => "DT_INT8",
        512 => "DT_UINT16",
        768 => "DT_UINT32",
        1024 => "DT_INT64",
        1280 => "DT_UINT64",
        1536 => "DT_FLOAT128",
        1792 => "DT_COMPLEX128",
        2048 => "DT_COMPLEX256",
        2304 => "DT_RGBA32",
        _ => "no NIfTI type",
    };
}
