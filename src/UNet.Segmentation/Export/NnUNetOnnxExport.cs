using System.Reflection;
using Google.Protobuf;
using UNet.Segmentation.Export.Onnx;
using UNet.Segmentation.Imaging;
using UNet.Segmentation.Model.NnUNet;
using static TorchSharp.torch;

namespace UNet.Segmentation.Export;

/// <summary>
/// Writes an <see cref="NnUNetModel"/> (2-D or 3-D) as ONNX for inference: input
/// <see cref="OnnxExport.InputName"/> float32 N×C×(D×)H×W, outputs <see cref="OnnxExport.ProbabilitiesName"/>
/// (softmax over axis 1) and <see cref="OnnxExport.LogitsName"/>, N×classes×(D×)H×W. The batch and
/// the spatial sizes are dynamic; each spatial size must be a multiple of the model's total stride
/// (<see cref="NnUNetOptions.TotalStride"/>), as for <see cref="NnUNetModel.forward"/>. The options
/// travel in the metadata under <see cref="NnUNetModel.OptionsMetadataKey"/>. Operators: Conv,
/// ConvTranspose, InstanceNormalization, LeakyRelu, Concat, Softmax (opset <see cref="OnnxExport.DefaultOpset"/>).
/// </summary>
public static class NnUNetOnnxExport
{
    /// <summary>The symbolic spatial dimensions, outermost first (3-D: depth, height, width).</summary>
    public static IReadOnlyList<string> SpatialDimensions(int dims) => dims == 3 ? ["depth", "height", "width"] : ["height", "width"];

    /// <summary>Writes <paramref name="model"/> to <paramref name="path"/> atomically; the model is read, not changed.</summary>
    /// <exception cref="ArgumentException">The path is empty or a folder, the opset outside <see cref="OnnxExport.MinOpset"/>..<see cref="OnnxExport.MaxOpset"/>, or the weights do not fit the options.</exception>
    public static OnnxExportResult Save(NnUNetModel model, string path, int opset = OnnxExport.DefaultOpset)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (opset < OnnxExport.MinOpset || opset > OnnxExport.MaxOpset)
            throw new ArgumentOutOfRangeException(nameof(opset), opset, $"opsets {OnnxExport.MinOpset}..{OnnxExport.MaxOpset} are offered");
        string fullPath = Path.GetFullPath(path);
        if (Directory.Exists(fullPath)) throw new ArgumentException($"{fullPath} is a folder; give the path of the .onnx file to write", nameof(path));
        ModelProto proto;
        using (NewDisposeScope()) proto = Describe(model, opset);
        using (var file = AtomicFile.Begin(fullPath))
        {
            proto.WriteTo(file.Stream);
            file.Commit();
        }
        return new OnnxExportResult(fullPath, opset, proto.IrVersion, [OnnxExport.InputName], [OnnxExport.ProbabilitiesName, OnnxExport.LogitsName],
            proto.Graph.Node.Count, proto.Graph.Initializer.Count, new FileInfo(fullPath).Length);
    }

    private static ModelProto Describe(NnUNetModel model, int opset)
    {
        var options = model.Options;
        var graph = NnUNetOnnxGraph.Build(model);
        if (graph.InitializerBytes > int.MaxValue - (64 << 20))
            throw new ArgumentException($"the model's weights take {graph.InitializerBytes:N0} bytes; an ONNX file holds at most 2 GiB", nameof(model));
        var g = graph.Graph;
        g.Name = "nnunet";
        var spatial = SpatialDimensions(options.SpatialDims);
        string sizes = $"spatial sizes must be multiples of the total stride {NnUNetOptions.Show(options.TotalStride)}";
        g.DocString = $"nnU-Net {options.SpatialDims}-D, {options.Levels} levels; {sizes}.";
        g.Input.Add(OnnxGraphBuilder.FloatTensor(OnnxExport.InputName, $"float32 N×{options.InputChannels}×spatial; {sizes}",
            [OnnxExport.BatchDimension, (long)options.InputChannels, .. spatial]));
        foreach (var (name, what) in new[] { (OnnxExport.ProbabilitiesName, "class probabilities (softmax over axis 1)"), (OnnxExport.LogitsName, "class logits") })
            g.Output.Add(OnnxGraphBuilder.FloatTensor(name, $"{what}, N×{options.Classes}×spatial", [OnnxExport.BatchDimension, (long)options.Classes, .. spatial]));
        string version = typeof(NnUNetOnnxExport).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
        var proto = new ModelProto
        {
            IrVersion = OnnxExport.IrVersion(opset),
            ProducerName = OnnxExport.ProducerName,
            ProducerVersion = version,
            DocString = $"nnU-Net exported by UNet.Segmentation {version}: '{OnnxExport.InputName}' → '{OnnxExport.ProbabilitiesName}' and '{OnnxExport.LogitsName}'; options under {NnUNetModel.OptionsMetadataKey}.",
            Graph = g,
        };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        proto.MetadataProps.Add(new StringStringEntryProto { Key = NnUNetModel.OptionsMetadataKey, Value = options.ToJson() });
        return proto;
    }
}
