using System.Text.Json;
using UNet.Segmentation.Inference;

namespace UNet.Segmentation.Onnx;

/// <summary>
/// What an exported U-Net says of itself in its ONNX metadata (<c>unet_options</c>, written by
/// UNet.Segmentation's <c>OnnxExport</c>): channels, classes, depth, padding and the input size it
/// was trained at, from which the output size follows (<see cref="UNetGeometry"/>); for an int8
/// model also its <see cref="Quantization"/>.
/// </summary>
/// <param name="InputChannels">C.</param>
/// <param name="Classes">K.</param>
/// <param name="Depth">Poolings.</param>
/// <param name="ValidPadding">Valid (not 'same') convolutions.</param>
/// <param name="InputSize">S_in, the side of the tiles the predictor feeds it.</param>
/// <param name="OptionsJson">The model's options as written.</param>
public sealed record OnnxModelInfo(int InputChannels, int Classes, int Depth, bool ValidPadding, int InputSize, string OptionsJson)
{
    /// <summary>The metadata key of the U-Net's options JSON (the same key the safetensors checkpoints use).</summary>
    public const string OptionsKey = UNetOnnxFormat.OptionsKey;

    /// <summary>The metadata key of the export format's version.</summary>
    public const string FormatKey = UNetOnnxFormat.FormatKey;

    /// <summary>The input's name.</summary>
    public const string InputName = UNetOnnxFormat.InputName;

    /// <summary>The soft-max output's name.</summary>
    public const string ProbabilitiesName = UNetOnnxFormat.ProbabilitiesName;

    /// <summary>The logits output's name.</summary>
    public const string LogitsName = UNetOnnxFormat.LogitsName;

    /// <summary>The metadata key of an int8 model's quantization (absent from float32 models).</summary>
    public const string QuantizationKey = UNetOnnxFormat.QuantizationKey;

    /// <summary>
    /// How the model is quantized, from its <see cref="QuantizationKey"/> metadata: null for a
    /// float32 model, set for an int8 one (QDQ form; its input and outputs are float32 all the same).
    /// </summary>
    public OnnxQuantizationInfo? Quantization { get; init; }

    /// <summary>S_out for <see cref="InputSize"/>.</summary>
    public int OutputSize => UNetGeometry.TryOutputSize(InputSize, Depth, ValidPadding, out int output) ? output : 0;

    /// <summary>Whether a height or width fits the network.</summary>
    public bool IsValidInputSize(int size) => UNetGeometry.TryOutputSize(size, Depth, ValidPadding, out _);

    /// <summary>Reads the metadata map; throws <see cref="OnnxModelException"/> naming <paramref name="path"/> when it is not ours.</summary>
    public static OnnxModelInfo FromMetadata(string path, IReadOnlyDictionary<string, string> metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        if (!metadata.TryGetValue(FormatKey, out var format) || !metadata.TryGetValue(OptionsKey, out var json))
            throw new OnnxModelException(path, $"has no '{FormatKey}' and '{OptionsKey}' metadata: it is not a U-Net exported by UNet.Segmentation (unet export --checkpoint C --onnx F)");
        if (format != UNetOnnxFormat.FormatVersion)
            throw new OnnxModelException(path, $"is export format {format}; this version reads format {UNetOnnxFormat.FormatVersion}");
        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            int Get(string name) => root.TryGetProperty(name, out var v) && v.TryGetInt32(out int i) ? i
                : throw new OnnxModelException(path, $"its '{OptionsKey}' metadata lacks a whole number '{name}'");
            string padding = root.TryGetProperty("Padding", out var p) && p.ValueKind == JsonValueKind.String ? p.GetString()! : "?";
            if (padding is not ("Valid" or "Same"))
                throw new OnnxModelException(path, $"its '{OptionsKey}' metadata has padding '{padding}'; expected Valid or Same");
            var info = new OnnxModelInfo(Get("InputChannels"), Get("Classes"), Get("Depth"), padding == "Valid", Get("InputSize"), json)
            {
                Quantization = metadata.TryGetValue(QuantizationKey, out var quantization) ? OnnxQuantizationInfo.Parse(path, quantization) : null,
            };
            if (info.InputChannels < 1 || info.Classes < 1 || info.OutputSize < 1)
                throw new OnnxModelException(path, $"its '{OptionsKey}' metadata describes no usable network ({json})");
            return info;
        }
        catch (JsonException e)
        {
            throw new OnnxModelException(path, $"its '{OptionsKey}' metadata is not JSON ({e.Message})", e);
        }
    }
}
