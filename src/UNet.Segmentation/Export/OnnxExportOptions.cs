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

    /// <summary>
    /// Null (default): a float32 model. Set: a statically quantized int8 model in ONNX's QDQ form,
    /// calibrated on <see cref="Int8Quantization.Calibration"/> (docs/onnx.md, "int8").
    /// </summary>
    public Int8Quantization? Int8 { get; init; }

    /// <summary>Every problem, each naming its option (<c>Int8.…</c> for the quantization's); empty when usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (Opset is < OnnxExport.MinOpset or > OnnxExport.MaxOpset)
            problems.Add($"{nameof(Opset)} must lie in {OnnxExport.MinOpset}..{OnnxExport.MaxOpset} (got {Opset})");
        if (Int8 is not null) problems.AddRange(Int8.Validate().Select(p => $"{nameof(Int8)}.{p}"));
        return problems;
    }
}
