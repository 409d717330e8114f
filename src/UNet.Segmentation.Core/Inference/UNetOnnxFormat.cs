namespace UNet.Segmentation.Inference;

/// <summary>
/// The contract between the ONNX export (UNet.Segmentation's <c>OnnxExport</c>) and the ONNX
/// predictor (UNet.Segmentation.Onnx): the graph's input and output names and the metadata keys.
/// </summary>
public static class UNetOnnxFormat
{
    /// <summary>The input: float32 [batch, C, height, width].</summary>
    public const string InputName = "image";

    /// <summary>Output 0: the soft-max over the classes, float32 [batch, K, output_height, output_width].</summary>
    public const string ProbabilitiesName = "probabilities";

    /// <summary>Output 1: the logits the probabilities are the soft-max of.</summary>
    public const string LogitsName = "logits";

    /// <summary>The metadata key of the U-Net's options JSON (the key the safetensors checkpoints use too).</summary>
    public const string OptionsKey = "unet_options";

    /// <summary>The metadata key of an int8 model's quantization and calibration (a JSON object; absent from float32 models).</summary>
    public const string QuantizationKey = "unet_quantization";

    /// <summary>The metadata key of the layout's version.</summary>
    public const string FormatKey = "unet_onnx_format";

    /// <summary>The layout's version this library writes and reads.</summary>
    public const string FormatVersion = "1";
}
