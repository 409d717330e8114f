namespace UNet.Segmentation.Torch;

/// <summary>Element types. The values are the ABI's codes (unet_segmentation_native.h), which the shim maps to libtorch's explicitly.</summary>
public enum ScalarType
{
    /// <summary>32-bit IEEE float.</summary>
    Float32 = 0,
    /// <summary>64-bit IEEE float.</summary>
    Float64 = 1,
    /// <summary>16-bit IEEE float.</summary>
    Float16 = 2,
    /// <summary>bfloat16: float32's exponent, 8 bits of mantissa.</summary>
    BFloat16 = 3,
    /// <summary>Signed 64-bit integer.</summary>
    Int64 = 4,
    /// <summary>Signed 32-bit integer.</summary>
    Int32 = 5,
    /// <summary>Unsigned 8-bit integer.</summary>
    UInt8 = 6,
    /// <summary>Boolean, one byte per element.</summary>
    Bool = 7,
    /// <summary>Signed 8-bit integer.</summary>
    Int8 = 8,
    /// <summary>Signed 16-bit integer.</summary>
    Int16 = 9,
}

/// <summary>Facts about <see cref="ScalarType"/> values.</summary>
public static class ScalarTypes
{
    /// <summary>Bytes per element.</summary>
    public static int ElementSize(this ScalarType type) => type switch
    {
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float64 or ScalarType.Int64 => 8,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        ScalarType.UInt8 or ScalarType.Bool or ScalarType.Int8 => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unknown scalar type"),
    };

    /// <summary>True for the floating-point types.</summary>
    public static bool IsFloatingPoint(this ScalarType type) =>
        type is ScalarType.Float32 or ScalarType.Float64 or ScalarType.Float16 or ScalarType.BFloat16;

    /// <summary>The scalar type of a managed element type.</summary>
    public static ScalarType Of<T>() where T : unmanaged
    {
        if (typeof(T) == typeof(float)) return ScalarType.Float32;
        if (typeof(T) == typeof(double)) return ScalarType.Float64;
        if (typeof(T) == typeof(Half)) return ScalarType.Float16;
        if (typeof(T) == typeof(long)) return ScalarType.Int64;
        if (typeof(T) == typeof(int)) return ScalarType.Int32;
        if (typeof(T) == typeof(byte)) return ScalarType.UInt8;
        if (typeof(T) == typeof(bool)) return ScalarType.Bool;
        if (typeof(T) == typeof(sbyte)) return ScalarType.Int8;
        if (typeof(T) == typeof(short)) return ScalarType.Int16;
        throw new NotSupportedException($"{typeof(T).Name} has no tensor scalar type; use float, double, Half, long, int, byte, bool, sbyte or short (bfloat16 through raw bytes).");
    }
}
