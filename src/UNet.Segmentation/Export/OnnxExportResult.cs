namespace UNet.Segmentation.Export;

/// <summary>What <see cref="OnnxExport.Save"/> wrote.</summary>
/// <param name="Path">The file, as a full path.</param>
/// <param name="Opset">The standard operator set the graph uses.</param>
/// <param name="IrVersion">The ONNX IR version of the file.</param>
/// <param name="Inputs">The graph's input names (<see cref="OnnxExport.InputName"/>).</param>
/// <param name="Outputs">The graph's output names, in order (<see cref="OnnxExport.ProbabilitiesName"/>, <see cref="OnnxExport.LogitsName"/>).</param>
/// <param name="NodeCount">Nodes in the graph.</param>
/// <param name="InitializerCount">Weight tensors stored in the file.</param>
/// <param name="Bytes">The file's size.</param>
public sealed record OnnxExportResult(
    string Path, int Opset, long IrVersion, IReadOnlyList<string> Inputs, IReadOnlyList<string> Outputs, int NodeCount, int InitializerCount, long Bytes)
{
    /// <summary>What the int8 export quantized and calibrated on; null for a float32 model.</summary>
    public Int8QuantizationReport? Quantization { get; init; }
}

/// <summary>What an int8 export (<see cref="OnnxExportOptions.Int8"/>) wrote, as its metadata records it.</summary>
/// <param name="Method">The calibration method.</param>
/// <param name="Percentile">The upper percentile with <see cref="CalibrationMethod.Percentile"/>; null with <see cref="CalibrationMethod.MinMax"/>.</param>
/// <param name="ImageNames">The calibration images' names, in order.</param>
/// <param name="ImagesSha256">SHA-256 of the calibration images' values (each image's four dimensions as int32, then its float32 values, little-endian), lower-case hex.</param>
/// <param name="QuantizedActivations">Activations quantized to uint8 (QuantizeLinear/DequantizeLinear pairs), the input included.</param>
/// <param name="Int8Layers">The convolutions (by weight key less <c>.weight</c>) whose weights are int8.</param>
/// <param name="FloatLayers">The convolutions left float32 (by default the last 1×1 convolution).</param>
/// <param name="ZeroActivations">
/// Quantized activations that were 0 on every calibration image (a ReLU that never fired: trained
/// networks have such dead layers; the cpu-fast checkpoint's <c>up_blocks.0.upconv.relu</c> is
/// one); they get the range [0, 1], so 0 stays exact.
/// </param>
public sealed record Int8QuantizationReport(
    CalibrationMethod Method, double? Percentile, IReadOnlyList<string> ImageNames, string ImagesSha256,
    int QuantizedActivations, IReadOnlyList<string> Int8Layers, IReadOnlyList<string> FloatLayers, IReadOnlyList<string> ZeroActivations);
