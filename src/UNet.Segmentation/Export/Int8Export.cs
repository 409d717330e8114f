using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using UNet.Segmentation.Export.Onnx;
using UNet.Segmentation.Model;

namespace UNet.Segmentation.Export;

/// <summary>
/// The int8 path of <see cref="OnnxExport"/>: plan what to quantize (<see cref="QdqQuantizer.MakePlan"/>),
/// measure those activations' ranges on the calibration images with the float graph
/// (<see cref="Int8Calibrator"/>), rewrite the graph into QDQ form, and describe it all for the metadata.
/// </summary>
internal static class Int8Export
{
    /// <summary>Quantizes <paramref name="graph"/> (float32, batch norms folded, up-convolutions as sub-pixel convolutions, inputs and outputs set) in place.</summary>
    public static (Int8QuantizationReport Report, string Json) Quantize(GraphProto graph, UNetOptions options, Int8Quantization int8)
    {
        var plan = QdqQuantizer.MakePlan(graph, int8.QuantizeOutputConvolution);
        var layerOf = graph.Node.Where(n => n.OpType == "Conv")
            .ToDictionary(n => n.Output[0], n => LayerName(n.Input[1]), StringComparer.Ordinal);
        IReadOnlyDictionary<string, (float Lo, float Hi)> ranges;
        using (var calibrator = new Int8Calibrator(graph, options, plan.Calibrated))
            ranges = calibrator.Calibrate(int8);
        QdqQuantizer.Rewrite(graph, plan, ranges);

        double? percentile = int8.Method == CalibrationMethod.Percentile ? int8.Percentile : null;
        var report = new Int8QuantizationReport(int8.Method, percentile, int8.Calibration.Select(c => c.Name).ToList(), Hash(int8.Calibration),
            plan.Calibrated.Count + plan.SharedWith.Count, plan.Int8Layers.Select(l => layerOf[l]).ToList(), plan.FloatLayers.Select(l => layerOf[l]).ToList(),
            plan.Calibrated.Where(v => ranges[v] is { Lo: 0, Hi: 0 }).ToList());
        return (report, Json(report, int8));
    }

    /// <summary>"input_block.conv1" for "input_block.conv1.weight" (or its batch-norm-folded weight; "bottleneck.upconv" for its sub-pixel weight).</summary>
    private static string LayerName(string weight)
    {
        foreach (string suffix in new[] { UNetOnnxGraph.FoldedSuffix, SubPixelUpsampling.Suffix })
            if (weight.EndsWith(suffix, StringComparison.Ordinal)) weight = weight[..^suffix.Length];
        return weight.EndsWith(".weight", StringComparison.Ordinal) ? weight[..^".weight".Length] : weight;
    }

    /// <summary>SHA-256 of each image's dimensions (4 × int32) and float32 values, little-endian, in order.</summary>
    internal static string Hash(IReadOnlyList<CalibrationImage> images)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> header = stackalloc byte[16];
        foreach (var image in images)
        {
            var p = image.Pixels;
            BinaryPrimitives.WriteInt32LittleEndian(header, p.Count);
            BinaryPrimitives.WriteInt32LittleEndian(header[4..], p.Channels);
            BinaryPrimitives.WriteInt32LittleEndian(header[8..], p.Height);
            BinaryPrimitives.WriteInt32LittleEndian(header[12..], p.Width);
            hash.AppendData(header);
            if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("the calibration hash is defined over little-endian floats");
            hash.AppendData(MemoryMarshal.AsBytes(p.Data.AsSpan()));
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>The metadata value (<see cref="OnnxExport.QuantizationMetadataKey"/>).</summary>
    private static string Json(Int8QuantizationReport report, Int8Quantization int8)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            w.WriteString("Format", "QDQ");
            w.WriteString("Weights", "int8, symmetric, per output channel");
            w.WriteString("Activations", "uint8, per tensor");
            w.WriteString("Method", report.Method.ToString());
            if (report.Percentile is { } p) w.WriteNumber("Percentile", p);
            w.WriteString("Input", int8.Prediction.Input.ToString());
            w.WriteNumber("Images", report.ImageNames.Count);
            w.WriteStartArray("ImageNames");
            foreach (string name in report.ImageNames) w.WriteStringValue(name);
            w.WriteEndArray();
            w.WriteString("ImagesSha256", report.ImagesSha256);
            w.WriteNumber("QuantizedActivations", report.QuantizedActivations);
            w.WriteStartArray("FloatLayers");
            foreach (string layer in report.FloatLayers) w.WriteStringValue(layer);
            w.WriteEndArray();
            w.WriteStartArray("ZeroActivations");
            foreach (string value in report.ZeroActivations) w.WriteStringValue(value);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }
}
