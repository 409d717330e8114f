using TorchSharp;
using UNet.Segmentation.Runtime;
using UNet.Segmentation.Training;
using static TorchSharp.torch;

namespace UNet.Segmentation.Inference;

/// <summary>How a <see cref="Predictor"/> predicts. The defaults reproduce NVIDIA UNet_Medical's predict path.</summary>
public sealed record PredictorOptions : PredictionOptions
{
    /// <summary>The reference's way of predicting: <see cref="InputMode.ReferenceResize"/>, batches of 4, no test-time augmentation.</summary>
    public static PredictorOptions Reference { get; } = new();

    /// <summary>Full-resolution overlap-tile prediction with nnU-Net's blending: <see cref="InputMode.OverlapTile"/>, overlap 0.5, Gaussian weights.</summary>
    public static PredictorOptions Tiled { get; } = new() { Input = InputMode.OverlapTile };

    /// <summary>Where the model runs; null keeps the model where it is. When set, the model is moved there.</summary>
    public Device? Device { get; init; }

    /// <summary>
    /// The forward pass's precision: <see cref="Precision.Float32"/> (default),
    /// <see cref="Precision.BFloat16"/> mixed precision (<see cref="Model.Precision.MixedPrecisionModel"/>;
    /// CPU and CUDA; about twice the speed on a CPU with AVX-512 BF16, see docs/performance.md for
    /// its measured accuracy) or <see cref="Precision.Float16"/> mixed precision (CUDA only).
    /// Probabilities are float32 either way.
    /// </summary>
    public Precision Precision { get; init; } = Precision.Float32;

    /// <summary>
    /// The memory layout of network inputs: <see cref="memory_format.channels_last"/> re-lays them
    /// NHWC (<see cref="Model.Precision.ChannelsLast.Of"/>), <see cref="memory_format.contiguous_format"/>
    /// makes them row-major; null or <see cref="memory_format.preserve_format"/> leaves them to the
    /// model (channels-last models convert themselves).
    /// </summary>
    public memory_format? MemoryFormat { get; init; }

    /// <summary>
    /// Whether creating a predictor turns on <see cref="FreedMemoryReuse"/> (default true): glibc
    /// then keeps freed memory for reuse instead of returning it to the kernel, which spares CPU
    /// prediction the zero-filling of fresh pages for every large activation. It is a process-wide
    /// setting of the C library that stays on for the rest of the process, whoever turned it on;
    /// false leaves the process as it is (<c>UNET_KEEP_FREED_MEMORY=0</c> keeps it off everywhere).
    /// </summary>
    public bool KeepFreedMemory { get; init; } = true;

    /// <inheritdoc/>
    public override IReadOnlyList<string> Validate()
    {
        var problems = new List<string>(base.Validate());
        if (MemoryFormat is { } f && !Enum.IsDefined(f)) problems.Add($"{nameof(MemoryFormat)} {f} is not a known memory format");
        if (Device is { } d && (!Enum.IsDefined(d.type) || d.index < -1)) problems.Add($"{nameof(Device)} {d} is not a device");
        if (!Enum.IsDefined(Precision)) problems.Add($"{nameof(Precision)} {Precision} is not a known precision");
        if (Precision == Precision.Float16 && Device is { type: not DeviceType.CUDA } cpu)
            problems.Add($"{nameof(Precision)} Float16 needs a CUDA device (float16 mixed precision is CUDA only): use BFloat16 on {cpu}");
        return problems;
    }

    /// <summary>Returns these options, or throws an <see cref="ArgumentException"/> whose parameter name is the first bad option and whose message lists every problem.</summary>
    public PredictorOptions EnsureValid()
    {
        ThrowIfInvalid();
        return this;
    }
}
