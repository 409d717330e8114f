using System.Globalization;
using UNet.Segmentation.Inference;

namespace UNet.Segmentation.Export;

/// <summary>How the int8 export turns the activations seen on the calibration images into ranges.</summary>
public enum CalibrationMethod
{
    /// <summary>Each quantized activation's smallest and largest value over all calibration images.</summary>
    MinMax,

    /// <summary>
    /// Each quantized activation's <see cref="Int8Quantization.Percentile"/>-th and
    /// (100 − <see cref="Int8Quantization.Percentile"/>)-th percentiles over all its values on all
    /// calibration images (pooled, to within 1/16384 of its full range): the rare outliers are
    /// clipped so the common values get finer steps.
    /// </summary>
    Percentile,
}

/// <summary>
/// Asks <see cref="OnnxExport.Save"/> for a statically quantized int8 model in ONNX's QDQ form
/// (QuantizeLinear / DequantizeLinear pairs that ONNX Runtime fuses into int8 kernels): weights
/// int8, symmetric, per output channel; activations uint8, per tensor, their ranges calibrated by
/// running the float graph over <see cref="Calibration"/> through the prediction pipeline
/// <see cref="Prediction"/>. Batch norms are folded into their convolutions first. The input and
/// the outputs stay float32, so <c>OnnxPredictor</c> loads the file as it loads a float one.
/// See docs/onnx.md, "int8".
/// </summary>
/// <example><code>
/// var images = CalibrationImages.Load("data/isbi2012", count: 8);
/// OnnxExport.Save(model, "unet-int8.onnx", new OnnxExportOptions { Int8 = new Int8Quantization { Calibration = images } });
/// </code></example>
public sealed record Int8Quantization
{
    /// <summary>The percentile of <see cref="CalibrationMethod.Percentile"/> by default.</summary>
    public const double DefaultPercentile = 99.999;

    /// <summary>
    /// The images the ranges are measured on: representative of what will be segmented (a few
    /// slices suffice; docs/onnx.md has the measurements), each 1×C×H×W in [−1, 1] with C the
    /// model's input channels (<see cref="CalibrationImages"/> reads them from files). Their names
    /// and a SHA-256 of their values go into the file's metadata.
    /// </summary>
    public IReadOnlyList<CalibrationImage> Calibration { get; init; } = [];

    /// <summary>How the ranges are taken from the activations (default <see cref="CalibrationMethod.Percentile"/>).</summary>
    public CalibrationMethod Method { get; init; } = CalibrationMethod.Percentile;

    /// <summary>The upper percentile of <see cref="CalibrationMethod.Percentile"/>, in (50, 100] (default <see cref="DefaultPercentile"/>); the lower one is 100 minus it.</summary>
    public double Percentile { get; init; } = DefaultPercentile;

    /// <summary>
    /// Whether the last 1×1 convolution (the logits) is quantized too; by default it stays
    /// float32 on a dequantized input: it is a tiny share of the work, and quantizing its output
    /// would round the logits the masks are thresholded from.
    /// </summary>
    public bool QuantizeOutputConvolution { get; init; }

    /// <summary>
    /// The prediction pipeline the calibration images go through to reach the network, as the
    /// predictor that will run the model prepares them (default: the reference's resize,
    /// <see cref="InputMode.ReferenceResize"/>; an <c>OnnxPredictorOptions</c> with
    /// <see cref="InputMode.OverlapTile"/> calibrates on overlap tiles).
    /// </summary>
    public PredictionOptions Prediction { get; init; } = PredictorOptions.Reference;

    /// <summary>Every problem, each naming its option; empty when usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (Calibration is null || Calibration.Count == 0)
            problems.Add($"{nameof(Calibration)} must hold at least one image (got none): int8 ranges are measured on images");
        else if (Calibration.Any(c => c is null))
            problems.Add($"{nameof(Calibration)} holds a null image");
        if (!Enum.IsDefined(Method)) problems.Add($"{nameof(Method)} {Method} is not a known calibration method");
        if (!(Percentile > 50 && Percentile <= 100))
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"{nameof(Percentile)} must lie in (50, 100] (got {Percentile})"));
        if (Prediction is null) problems.Add($"{nameof(Prediction)} is null");
        else problems.AddRange(Prediction.Validate().Select(p => $"{nameof(Prediction)}.{p}"));
        return problems;
    }
}
