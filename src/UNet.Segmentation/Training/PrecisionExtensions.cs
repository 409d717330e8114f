using TorchSharp;
using UNet.Segmentation.Model;
using UNet.Segmentation.Model.Precision;
using static TorchSharp.torch;

namespace UNet.Segmentation.Training;

/// <summary>What a <see cref="Precision"/> means for a forward pass; shared by training, prediction and the benchmarks.</summary>
public static class PrecisionExtensions
{
    /// <summary>The type the convolutions compute in: bfloat16 or float16, null for float32.</summary>
    public static ScalarType? ComputeType(this Precision precision) => precision switch
    {
        Precision.BFloat16 => ScalarType.BFloat16,
        Precision.Float16 => ScalarType.Float16,
        _ => null,
    };

    /// <summary>
    /// A <see cref="MixedPrecisionModel"/> of <paramref name="model"/> in this precision (the
    /// caller disposes it), or null for float32, where the model runs as it is.
    /// </summary>
    /// <exception cref="ArgumentException">Float16 on a device other than CUDA.</exception>
    public static MixedPrecisionModel? WorkingCopy(this Precision precision, UNetModel model) =>
        precision.ComputeType() is { } type ? new MixedPrecisionModel(model, type) : null;
}
