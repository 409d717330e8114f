using System.Text.Json;
using UNet.Segmentation.Inference;

namespace UNet.Segmentation.Onnx;

/// <summary>
/// What an int8 model says of its quantization in its metadata (<c>unet_quantization</c>, written
/// by UNet.Segmentation's int8 export, <c>unet export --int8</c>): the QDQ form, how its
/// activation ranges were calibrated and on which images.
/// </summary>
/// <param name="Method">The calibration method: "MinMax" or "Percentile".</param>
/// <param name="Percentile">The upper percentile of the "Percentile" method; null otherwise.</param>
/// <param name="ImageNames">The calibration images' names, in order.</param>
/// <param name="ImagesSha256">The SHA-256 of the calibration images' values, as the export computed it.</param>
/// <param name="Input">The prediction input path the images were calibrated through ("ReferenceResize", "OverlapTile").</param>
/// <param name="FloatLayers">The convolutions left float32.</param>
/// <param name="Json">The metadata value as written.</param>
public sealed record OnnxQuantizationInfo(string Method, double? Percentile, IReadOnlyList<string> ImageNames, string ImagesSha256,
    string Input, IReadOnlyList<string> FloatLayers, string Json)
{
    /// <summary>The metadata key.</summary>
    public const string Key = UNetOnnxFormat.QuantizationKey;

    /// <summary>"int8 (QDQ), Percentile 99.999 calibration on 8 image(s)".</summary>
    public override string ToString() =>
        $"int8 (QDQ), {Method}{(Percentile is { } p ? " " + p.ToString(System.Globalization.CultureInfo.InvariantCulture) : "")} calibration on {ImageNames.Count} image(s)";

    /// <summary>Reads the metadata value; throws <see cref="OnnxModelException"/> naming <paramref name="path"/> when it is malformed.</summary>
    public static OnnxQuantizationInfo Parse(string path, string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw Bad("is not a JSON object");
            string Text(string name) => root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : throw Bad($"lacks a string '{name}'");
            IReadOnlyList<string> Texts(string name) =>
                root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Array && v.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String)
                    ? v.EnumerateArray().Select(e => e.GetString()!).ToList()
                    : throw Bad($"lacks a list of strings '{name}'");
            if (Text("Format") != "QDQ") throw Bad($"has format '{Text("Format")}'; this version reads QDQ");
            string method = Text("Method");
            double? percentile = null;
            if (method == "Percentile")
                percentile = root.TryGetProperty("Percentile", out var p) && p.TryGetDouble(out double value) ? value : throw Bad("lacks the number 'Percentile'");
            else if (method != "MinMax") throw Bad($"has calibration method '{method}'; expected MinMax or Percentile");
            var names = Texts("ImageNames");
            if (names.Count == 0) throw Bad("names no calibration images");
            return new OnnxQuantizationInfo(method, percentile, names, Text("ImagesSha256"), Text("Input"), Texts("FloatLayers"), json);
        }
        catch (JsonException e)
        {
            throw new OnnxModelException(path, $"its '{Key}' metadata is not JSON ({e.Message})", e);
        }

        OnnxModelException Bad(string problem) => new(path, $"its '{Key}' metadata {problem}");
    }
}
