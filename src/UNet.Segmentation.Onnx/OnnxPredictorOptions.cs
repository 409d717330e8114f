using UNet.Segmentation.Inference;

namespace UNet.Segmentation.Onnx;

/// <summary>Where ONNX Runtime runs the network.</summary>
public enum OnnxExecutionProvider
{
    /// <summary>ONNX Runtime's CPU kernels (the Microsoft.ML.OnnxRuntime package).</summary>
    Cpu,

    /// <summary>NVIDIA CUDA (the application references Microsoft.ML.OnnxRuntime.Gpu instead, with CUDA and cuDNN installed).</summary>
    Cuda,
}

/// <summary>
/// How an <see cref="OnnxPredictor"/> predicts: the same prediction options as the TorchSharp
/// <c>Predictor</c> (<see cref="PredictionOptions"/>) plus ONNX Runtime's session settings.
/// </summary>
public sealed record OnnxPredictorOptions : PredictionOptions
{
    /// <summary>The reference's way of predicting: resize, batches of 4, no test-time augmentation.</summary>
    public static OnnxPredictorOptions Reference { get; } = new();

    /// <summary>Full-resolution overlap-tile prediction with Gaussian blending, overlap 0.5.</summary>
    public static OnnxPredictorOptions Tiled { get; } = new() { Input = InputMode.OverlapTile };

    /// <summary>Threads inside one operator (ONNX Runtime's intra-op pool); null lets ONNX Runtime choose (one per physical core).</summary>
    public int? Threads { get; init; }

    /// <summary>Where the network runs (default the CPU).</summary>
    public OnnxExecutionProvider ExecutionProvider { get; init; } = OnnxExecutionProvider.Cpu;

    /// <summary>The CUDA device with <see cref="OnnxExecutionProvider.Cuda"/>.</summary>
    public int CudaDevice { get; init; }

    /// <inheritdoc/>
    public override IReadOnlyList<string> Validate()
    {
        var problems = new List<string>(base.Validate());
        if (Threads is < 1) problems.Add($"{nameof(Threads)} must be at least 1 when set (got {Threads})");
        if (!Enum.IsDefined(ExecutionProvider)) problems.Add($"{nameof(ExecutionProvider)} {ExecutionProvider} is not a known execution provider");
        if (CudaDevice < 0) problems.Add($"{nameof(CudaDevice)} must not be negative (got {CudaDevice})");
        return problems;
    }

    /// <summary>Returns these options, or throws an <see cref="ArgumentException"/> whose parameter name is the first bad option and whose message lists every problem.</summary>
    public OnnxPredictorOptions EnsureValid()
    {
        ThrowIfInvalid();
        return this;
    }
}
