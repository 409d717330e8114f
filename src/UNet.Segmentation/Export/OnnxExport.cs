using System.Reflection;
using Google.Protobuf;
using UNet.Segmentation.Export.Onnx;
using UNet.Segmentation.Imaging;
using UNet.Segmentation.Inference;
using UNet.Segmentation.Model;
using static TorchSharp.torch;

namespace UNet.Segmentation.Export;

/// <summary>
/// Writes a <see cref="UNetModel"/> as an ONNX file for inference (what <c>model.eval()</c>
/// computes): one float32 input <see cref="InputName"/> (N×C×H×W) and two outputs,
/// <see cref="ProbabilitiesName"/> (softmax over the classes) and <see cref="LogitsName"/>, both
/// N×classes×H'×W'. Batch, height and width are dynamic; height and width must each be a valid
/// input size of the model (<see cref="UNetOptions.IsValidInputSize"/>). The graph is written from
/// the model's blocks (Conv, BatchNormalization, Relu, MaxPool, ConvTranspose, Slice, Concat,
/// Softmax), its weights are initializers named by their state-dict keys, and the options travel
/// in the metadata (<see cref="OptionsMetadataKey"/>). With <see cref="OnnxExportOptions.Int8"/> the
/// graph is statically quantized to int8 in ONNX's QDQ form instead (<see cref="Int8Quantization"/>),
/// its batch norms folded and its up-convolutions written as sub-pixel convolutions (Conv and
/// DepthToSpace in place of ConvTranspose, the same values) so that they are quantized too.
/// See docs/onnx.md.
/// </summary>
public static class OnnxExport
{
    /// <summary>The graph's input: float32 N×C×H×W.</summary>
    public const string InputName = UNetOnnxFormat.InputName;
    /// <summary>The first output: class probabilities (softmax over axis 1), float32 N×classes×H'×W'.</summary>
    public const string ProbabilitiesName = UNetOnnxFormat.ProbabilitiesName;
    /// <summary>The second output: the logits the probabilities are the softmax of.</summary>
    public const string LogitsName = UNetOnnxFormat.LogitsName;
    /// <summary>The symbolic batch dimension of the input and outputs.</summary>
    public const string BatchDimension = "batch";
    /// <summary>The symbolic input height.</summary>
    public const string HeightDimension = "height";
    /// <summary>The symbolic input width.</summary>
    public const string WidthDimension = "width";
    /// <summary>The symbolic output height (the model's <see cref="UNetOptions.OutputSize"/> of the input height).</summary>
    public const string OutputHeightDimension = "output_height";
    /// <summary>The symbolic output width.</summary>
    public const string OutputWidthDimension = "output_width";
    /// <summary>The metadata key holding <see cref="UNetOptions.ToJson"/> (the same key as checkpoints use).</summary>
    public const string OptionsMetadataKey = UNetOnnxFormat.OptionsKey;
    /// <summary>The metadata key holding <see cref="FormatVersion"/>.</summary>
    public const string FormatMetadataKey = UNetOnnxFormat.FormatKey;
    /// <summary>The metadata key of an int8 model's quantization and calibration (JSON; see <see cref="Int8Quantization"/>); absent from a float32 model.</summary>
    public const string QuantizationMetadataKey = UNetOnnxFormat.QuantizationKey;
    /// <summary>The version of this graph layout (names, outputs, metadata); a reader checks it.</summary>
    public const string FormatVersion = UNetOnnxFormat.FormatVersion;
    /// <summary>The producer name written into the file.</summary>
    public const string ProducerName = "UNet.Segmentation";
    /// <summary>The default operator set.</summary>
    public const int DefaultOpset = 17;
    /// <summary>The oldest operator set offered (Softmax's single-axis form dates from 13, BatchNormalization's current form from 15).</summary>
    public const int MinOpset = 17;
    /// <summary>The newest operator set offered: the newest ONNX Runtime 1.31.1 loads and runs (tests/UNet.Segmentation.Tests/Export).</summary>
    public const int MaxOpset = 26;

    /// <summary>
    /// Writes <paramref name="model"/> to <paramref name="path"/> as ONNX, all at once or not at all:
    /// a failed export leaves an existing file as it was. The model is read, not changed.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="model"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty or a folder, or the model's weights do not fit its options.</exception>
    /// <exception cref="OptionsValidationException">The options' <see cref="OnnxExportOptions.Opset"/> is outside <see cref="MinOpset"/>..<see cref="MaxOpset"/>.</exception>
    /// <exception cref="ObjectDisposedException"><paramref name="model"/> was disposed.</exception>
    /// <exception cref="DirectoryNotFoundException">The folder of <paramref name="path"/> does not exist.</exception>
    /// <exception cref="Int8CalibrationException">With <see cref="OnnxExportOptions.Int8"/>: a calibration image does not fit the model or is constant, or the model computes NaN, infinite or everywhere-zero activations on them.</exception>
    public static OnnxExportResult Save(UNetModel model, string path, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        options ??= OnnxExportOptions.Default;
        OptionsValidationException.ThrowIfAny(options.Validate(), "ONNX export options");
        string fullPath = Path.GetFullPath(path);
        if (Directory.Exists(fullPath)) throw new ArgumentException($"{fullPath} is a folder; give the path of the .onnx file to write", nameof(path));
        // A disposed module has given up its parameters (TorchSharp empties the list); a live U-Net always has some.
        var parameters = model.parameters().ToList();
        if (parameters.Count == 0 || parameters.Any(p => p.IsInvalid)) throw new ObjectDisposedException(nameof(model), "the model was disposed");

        ModelProto proto;
        Int8QuantizationReport? quantization;
        using (NewDisposeScope())
        {
            proto = Describe(model, options.Opset, options.Int8, out quantization);
        }
        using (var file = AtomicFile.Begin(fullPath))
        {
            proto.WriteTo(file.Stream);
            file.Commit();
        }
        return new OnnxExportResult(fullPath, options.Opset, proto.IrVersion, [InputName], [ProbabilitiesName, LogitsName],
            proto.Graph.Node.Count, proto.Graph.Initializer.Count, new FileInfo(fullPath).Length) { Quantization = quantization };
    }

    /// <summary>The ONNX IR version that goes with an operator set (ONNX's release table: 17, 18 → 8; 19, 20 → 9; 21, 22 → 10; 23 → 11; 24 → 12; 25, 26 → 13).</summary>
    internal static long IrVersion(int opset) => opset switch
    {
        17 or 18 => 8,
        19 or 20 => 9,
        21 or 22 => 10,
        23 => 11,
        24 => 12,
        25 or 26 => 13,
        _ => throw new ArgumentOutOfRangeException(nameof(opset), opset, $"no IR version known for opset {opset}"),
    };

    /// <summary>The whole file in memory: graph, inputs and outputs, opset, metadata; quantized when <paramref name="int8"/> is set.</summary>
    private static ModelProto Describe(UNetModel model, int opset, Int8Quantization? int8, out Int8QuantizationReport? quantization)
    {
        var options = model.Options;
        var graph = UNetOnnxGraph.Build(model, foldBatchNorm: int8 is not null, subPixelUpsampling: int8 is not null);
        // protobuf messages are limited to 2 GiB; ONNX's way past that (external data) is not written here.
        if (graph.InitializerBytes > int.MaxValue - (64 << 20))
            throw new ArgumentException($"the model's weights take {graph.InitializerBytes:N0} bytes; an ONNX file holds at most 2 GiB", nameof(model));
        string sizes = ValidSizesText(options);
        var g = graph.Graph;
        g.Name = "unet";
        g.DocString = $"U-Net ({options.Depth} poolings, {options.Padding.ToString().ToLowerInvariant()} padding, {options.Upsampling}). {sizes}";
        g.Input.Add(OnnxGraphBuilder.FloatTensor(InputName, $"float32 images, N×{options.InputChannels}×H×W. {sizes}",
            BatchDimension, (long)options.InputChannels, HeightDimension, WidthDimension));
        string outputShape = $"N×{options.Classes}×H'×W' with H' = OutputSize(H), W' = OutputSize(W) ({options.InputSize} → {options.OutputSize(options.InputSize)})";
        g.Output.Add(OnnxGraphBuilder.FloatTensor(ProbabilitiesName, $"class probabilities (softmax over axis 1), {outputShape}",
            BatchDimension, (long)options.Classes, OutputHeightDimension, OutputWidthDimension));
        g.Output.Add(OnnxGraphBuilder.FloatTensor(LogitsName, $"class logits, {outputShape}",
            BatchDimension, (long)options.Classes, OutputHeightDimension, OutputWidthDimension));
        quantization = null;
        string? quantizationJson = null;
        if (int8 is not null)
        {
            (quantization, quantizationJson) = Int8Export.Quantize(g, options, int8);
            g.DocString += $" Quantized to int8 (QDQ): {quantization.Int8Layers.Count} int8 convolutions, float32: {string.Join(", ", quantization.FloatLayers.DefaultIfEmpty("none"))}.";
        }

        string version = typeof(OnnxExport).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
        var proto = new ModelProto
        {
            IrVersion = IrVersion(opset),
            ProducerName = ProducerName,
            ProducerVersion = version,
            DocString = $"U-Net segmentation exported by UNet.Segmentation {version}: '{InputName}' → '{ProbabilitiesName}' and '{LogitsName}'. {sizes} Options: {OptionsMetadataKey} in the metadata." +
                (quantizationJson is null ? "" : $" Statically quantized to int8 in QDQ form; calibration: {QuantizationMetadataKey} in the metadata."),
            Graph = g,
        };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        proto.MetadataProps.Add(new StringStringEntryProto { Key = OptionsMetadataKey, Value = options.ToJson() });
        proto.MetadataProps.Add(new StringStringEntryProto { Key = FormatMetadataKey, Value = FormatVersion });
        if (quantizationJson is not null) proto.MetadataProps.Add(new StringStringEntryProto { Key = QuantizationMetadataKey, Value = quantizationJson });
        return proto;
    }

    /// <summary>"H and W must each be a valid input size: 188, 204, 220, 236, … (every 16)."</summary>
    private static string ValidSizesText(UNetOptions options)
    {
        var first = options.ValidInputSizes(1, int.MaxValue).Take(4).ToList();
        string step = first.Count > 1 ? $" (every {first[1] - first[0]})" : "";
        return $"H and W must each be a valid input size of the model (UNetOptions.IsValidInputSize): {string.Join(", ", first)}, …{step}.";
    }
}
