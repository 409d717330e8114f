using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace UNet.Segmentation.Serialization;

public static partial class Safetensors
{
    /// <summary>The dtypes safetensors files here may hold.</summary>
    private static bool IsSupported(ScalarType dtype) => dtype is ScalarType.Float64 or ScalarType.Float32 or ScalarType.Float16
        or ScalarType.BFloat16 or ScalarType.Int64 or ScalarType.Int32 or ScalarType.Int16 or ScalarType.Int8 or ScalarType.Byte or ScalarType.Bool;

    /// <summary>Bytes per element of a supported dtype.</summary>
    internal static int ElementSize(ScalarType dtype) => dtype switch
    {
        ScalarType.Float64 or ScalarType.Int64 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        ScalarType.Int8 or ScalarType.Byte or ScalarType.Bool => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "not a scalar type safetensors can hold"),
    };

    /// <summary>A new tensor of <paramref name="shape"/> holding <paramref name="bytes"/> (row-major, little-endian), on <paramref name="device"/>.</summary>
    private static Tensor FromBytes(ReadOnlySpan<byte> bytes, long[] shape, ScalarType dtype, Device? device)
    {
        var host = empty(shape, dtype);
        if (bytes.Length > 0) bytes.CopyTo(host.bytes);
        if (device is null || device.type == DeviceType.CPU) return host;
        using (host) return host.to(device);
    }

    /// <summary>Copies a tensor's elements, row-major, into <paramref name="destination"/> (its byte size), whatever its device and strides.</summary>
    private static void CopyBytesTo(Tensor tensor, Span<byte> destination)
    {
        if (destination.Length == 0) return;
        using var scope = NewDisposeScope();
        var host = tensor.device_type == DeviceType.CPU ? tensor.detach() : tensor.detach().cpu();
        if (!host.is_contiguous()) host = host.contiguous();
        host.bytes.CopyTo(destination);
    }
}
