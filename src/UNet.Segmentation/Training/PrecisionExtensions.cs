using TorchSharp;
using UNet.Segmentation.Model.Precision;
using static TorchSharp.torch;

namespace UNet.Segmentation.Training;

/// <summary>What a <see cref="Precision"/> means for a forward pass; shared by training, prediction and the benchmarks.</summary>
public static class PrecisionExtensions
{
    /// <summary>The compute type of the precision's mixed-precision scope: bfloat16 or float16, null for float32.</summary>
    public static ScalarType? AutocastType(this Precision precision) => precision switch
    {
        Precision.BFloat16 => ScalarType.BFloat16,
        Precision.Float16 => ScalarType.Float16,
        _ => null,
    };

    /// <summary>
    /// A <see cref="MixedPrecision"/> scope for <paramref name="device"/> in this precision
    /// (dispose it after the forward pass, on the same thread); null for float32.
    /// </summary>
    /// <exception cref="ArgumentException">Float16 on a device other than CUDA.</exception>
    public static MixedPrecisionScope? Autocast(this Precision precision, DeviceType device) =>
        precision.AutocastType() is { } type ? MixedPrecision.Enter(type, device) : null;
}
