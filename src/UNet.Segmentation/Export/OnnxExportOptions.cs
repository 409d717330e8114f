namespace UNet.Segmentation.Export;

/// <summary>How <see cref="OnnxExport.Save"/> writes the file.</summary>
public sealed record OnnxExportOptions
{
    /// <summary>The defaults: opset <see cref="OnnxExport.DefaultOpset"/>.</summary>
    public static OnnxExportOptions Default { get; } = new();

    /// <summary>
    /// The standard (ai.onnx) operator set the graph is written against, from
    /// <see cref="OnnxExport.MinOpset"/> to <see cref="OnnxExport.MaxOpset"/>; the file's IR version
    /// follows from it (opset 17 and 18: IR 8). The graph is the same in all of them.
    /// </summary>
    public int Opset { get; init; } = OnnxExport.DefaultOpset;

    /// <summary>Every problem, each naming its option; empty when usable.</summary>
    public IReadOnlyList<string> Validate() => Opset is < OnnxExport.MinOpset or > OnnxExport.MaxOpset
        ? [$"{nameof(Opset)} must lie in {OnnxExport.MinOpset}..{OnnxExport.MaxOpset} (got {Opset})"]
        : [];
}
