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
    string Path, int Opset, long IrVersion, IReadOnlyList<string> Inputs, IReadOnlyList<string> Outputs, int NodeCount, int InitializerCount, long Bytes);
