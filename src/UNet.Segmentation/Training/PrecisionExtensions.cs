using UNet.Segmentation.Torch;

namespace UNet.Segmentation.Training;

/// <summary>What a <see cref="Precision"/> means for a forward pass; shared by training, prediction and the benchmarks.</summary>
public static class PrecisionExtensions
{
    /// <summary>The autocast type of the precision: bfloat16 or float16, null for float32.</summary>
    public static ScalarType? AutocastType(this Precision precision) => precision switch
    {
        Precision.BFloat16 => ScalarType.BFloat16,
        Precision.Float16 => ScalarType.Float16,
        _ => null,
    };

    /// <summary>An autocast scope for <paramref name="device"/> in this precision (dispose it after the forward pass); null for float32.</summary>
    public static AutocastScope? Autocast(this Precision precision, DeviceType device) =>
        precision.AutocastType() is { } type ? Torch.Autocast.Enable(device, type) : null;
}
