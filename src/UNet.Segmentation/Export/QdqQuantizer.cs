using System.Runtime.InteropServices;
using Google.Protobuf;
using UNet.Segmentation.Export.Onnx;

namespace UNet.Segmentation.Export;

/// <summary>
/// Rewrites a float32 U-Net graph (batch norms folded) into ONNX's QDQ form, the layout ONNX
/// Runtime's graph optimizer fuses into int8 kernels:
/// <list type="bullet">
/// <item>every activation that enters a Conv, MaxPool, DepthToSpace or Concat is quantized:
/// <c>QuantizeLinear → DequantizeLinear</c> right after the node that makes it (uint8, per
/// tensor, its calibrated range widened to hold 0). After a ReLU the pair follows the ReLU with
/// zero point 0, which ONNX Runtime fuses away with the ReLU;</item>
/// <item>MaxPool, the skip crop (Slice) and the up-sampling's DepthToSpace pass their input's
/// scale and zero point on unchanged, so ONNX Runtime can run them on the uint8 values;</item>
/// <item>each quantized Conv reads its weights through a per-channel <c>DequantizeLinear</c>
/// from int8 (symmetric, zero point 0, scale max|w|/127 per output channel, axis 0) and its bias
/// from int32 with scale input scale × weight scale, as QLinearConv adds it. The up-convolutions
/// arrive as sub-pixel Convs (<see cref="SubPixelUpsampling"/>); a ConvTranspose is refused, as
/// ONNX Runtime's CPU provider has no int8 kernel for it;</item>
/// <item>the last 1×1 convolution keeps float32 weights unless asked, the Softmax and both
/// outputs stay float32.</item>
/// </list>
/// </summary>
internal static class QdqQuantizer
{
    /// <summary>What is quantized: the activations to calibrate, those that share another's parameters, and the convolutions with int8 weights.</summary>
    /// <param name="Calibrated">Values that get their own range.</param>
    /// <param name="SharedWith">A value that takes the parameters of another (MaxPool, Slice and DepthToSpace outputs: their input's).</param>
    /// <param name="Int8Layers">Conv nodes (by output name) whose weights become int8.</param>
    /// <param name="FloatLayers">Conv nodes that keep float32 weights.</param>
    public sealed record Plan(IReadOnlyList<string> Calibrated, IReadOnlyDictionary<string, string> SharedWith, IReadOnlyList<string> Int8Layers, IReadOnlyList<string> FloatLayers)
    {
        /// <summary>Every quantized value: calibrated or shared.</summary>
        public IEnumerable<string> Quantized => Calibrated.Concat(SharedWith.Keys);
    }

    /// <summary>Decides what to quantize in <paramref name="graph"/> (read, not changed).</summary>
    public static Plan MakePlan(GraphProto graph, bool quantizeOutputConvolution)
    {
        var producer = graph.Node.Where(n => n.OpType != "Constant").ToDictionary(n => n.Output[0], StringComparer.Ordinal);
        string logits = OnnxExport.LogitsName;
        var quantized = new HashSet<string>(StringComparer.Ordinal);
        var int8Layers = new List<string>();
        var floatLayers = new List<string>();
        foreach (var node in graph.Node)
        {
            if (node.OpType == "ConvTranspose")
                throw new InvalidOperationException($"node '{node.Name}' is a ConvTranspose: the int8 export writes up-convolutions as sub-pixel convolutions (UNetOnnxGraph.Build with subPixelUpsampling)");
            if (node.OpType == "Conv")
            {
                quantized.Add(node.Input[0]);
                bool isOutput = node.Output[0] == logits;
                if (isOutput && !quantizeOutputConvolution) floatLayers.Add(node.Output[0]);
                else int8Layers.Add(node.Output[0]);
                if (isOutput && quantizeOutputConvolution) quantized.Add(node.Output[0]);
            }
            else if (node.OpType is "MaxPool" or "DepthToSpace") quantized.Add(node.Input[0]);
            else if (node.OpType == "Concat") quantized.UnionWith(node.Input);
        }
        var shared = new Dictionary<string, string>(StringComparer.Ordinal);
        var calibrated = new List<string>();
        // Nodes are in topological order, so a value's source is settled before its readers ask.
        string Root(string v) => shared.TryGetValue(v, out var r) ? r : v;
        var order = new List<string> { graph.Input[0].Name };
        order.AddRange(graph.Node.Where(n => n.OpType != "Constant").Select(n => n.Output[0]));
        foreach (string value in order.Where(quantized.Contains))
        {
            if (producer.TryGetValue(value, out var node) && node.OpType is "MaxPool" or "Slice" or "DepthToSpace" && quantized.Contains(node.Input[0]))
                shared[value] = Root(node.Input[0]);
            else calibrated.Add(value);
        }
        return new Plan(calibrated, shared, int8Layers, floatLayers);
    }

    /// <summary>The range given to an activation that was 0 on every calibration image (a ReLU that never fired): [0, 1], so that 0 stays exact.</summary>
    internal const float ZeroActivationRange = 1f;

    /// <summary>
    /// Activation parameters from a calibrated range: uint8, the range widened to hold 0 exactly
    /// (and to [0, <see cref="ZeroActivationRange"/>] when it is [0, 0]).
    /// </summary>
    internal static (float Scale, byte ZeroPoint) ActivationParameters(float lo, float hi)
    {
        lo = Math.Min(lo, 0);
        hi = Math.Max(hi, 0);
        if (lo == 0 && hi == 0) hi = ZeroActivationRange;
        float scale = (hi - lo) / 255f;
        if (!(scale > 0) || !float.IsFinite(scale)) throw new ArgumentException($"range [{lo}, {hi}] cannot be quantized", nameof(lo));
        double zero = Math.Round(-lo / scale, MidpointRounding.ToEven);
        return (scale, (byte)Math.Clamp(zero, 0, 255));
    }

    /// <summary>Rewrites <paramref name="graph"/> in place by <paramref name="plan"/> with the measured <paramref name="ranges"/> (one per calibrated value).</summary>
    public static void Rewrite(GraphProto graph, Plan plan, IReadOnlyDictionary<string, (float Lo, float Hi)> ranges)
    {
        var parameters = new Dictionary<string, (string Scale, string ZeroPoint, float ScaleValue)>(StringComparer.Ordinal);
        var newInitializers = new List<TensorProto>();
        foreach (string value in plan.Calibrated)
        {
            var (lo, hi) = ranges[value];
            var (scale, zero) = ActivationParameters(lo, hi);
            string scaleName = $"{value}/scale", zeroName = $"{value}/zero_point";
            newInitializers.Add(Scalar(scaleName, scale));
            newInitializers.Add(Raw(zeroName, TensorProto.Types.DataType.Uint8, [], [zero]));
            parameters[value] = (scaleName, zeroName, scale);
        }
        foreach (var (value, root) in plan.SharedWith) parameters[value] = parameters[root];

        var initializers = graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var constants = graph.Node.Where(n => n.OpType == "Constant").ToList();
        var weightNodes = new List<NodeProto>();
        var body = new List<NodeProto>();
        var renamed = new Dictionary<string, string>(StringComparer.Ordinal);
        var outputs = graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        string input = graph.Input[0].Name;

        // The pair after a value: consumers read '{value}/dequantized'; a graph output keeps its
        // name on the dequantized side and its producer writes '{value}/float' instead.
        void AddPair(string value, List<NodeProto> into)
        {
            var (scale, zero, _) = parameters[value];
            bool isOutput = outputs.Contains(value);
            string source = isOutput ? $"{value}/float" : value;
            string target = isOutput ? value : $"{value}/dequantized";
            into.Add(Node("QuantizeLinear", $"{value}/quantized", [source, scale, zero]));
            into.Add(Node("DequantizeLinear", target, [$"{value}/quantized", scale, zero]));
            if (!isOutput) renamed[value] = target;
        }

        if (parameters.ContainsKey(input)) AddPair(input, body);
        var int8 = plan.Int8Layers.ToHashSet(StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            if (node.OpType == "Constant") continue;
            var copy = node.Clone();
            // Inputs read the dequantized values; the data input of a Conv is always quantized (the plan).
            for (int i = 0; i < copy.Input.Count; i++)
                if (renamed.TryGetValue(copy.Input[i], out var r)) copy.Input[i] = r;
            if (node.OpType == "Conv" && int8.Contains(node.Output[0]))
                QuantizeWeights(copy, initializers, parameters[node.Input[0]].ScaleValue, newInitializers, weightNodes);
            string output = node.Output[0];
            bool quantizedOutput = parameters.ContainsKey(output);
            if (quantizedOutput && outputs.Contains(output)) copy.Output[0] = copy.Name = $"{output}/float";
            body.Add(copy);
            if (quantizedOutput) AddPair(output, body);
        }

        graph.Node.Clear();
        graph.Node.AddRange(constants);
        graph.Node.AddRange(weightNodes);
        graph.Node.AddRange(body);
        graph.Initializer.Clear();
        graph.Initializer.AddRange(initializers.Values);
        graph.Initializer.AddRange(newInitializers);
    }

    /// <summary>
    /// Replaces the float weight and bias of <paramref name="node"/> by int8/int32 initializers
    /// behind DequantizeLinear nodes named as the float ones were, so the node reads the same names.
    /// </summary>
    private static void QuantizeWeights(NodeProto node, Dictionary<string, TensorProto> initializers, float inputScale,
        List<TensorProto> added, List<NodeProto> dequantizers)
    {
        string weightName = node.Input[1];
        var w = initializers[weightName];
        initializers.Remove(weightName);
        long[] dims = w.Dims.ToArray();
        int outChannels = (int)dims[0];
        var values = MemoryMarshal.Cast<byte, float>(w.RawData.Span).ToArray();
        // Element i's output channel: out × in × k × k.
        int perChannel = values.Length / outChannels;
        int ChannelOf(int i) => i / perChannel;
        var maxAbs = new float[outChannels];
        for (int i = 0; i < values.Length; i++) maxAbs[ChannelOf(i)] = Math.Max(maxAbs[ChannelOf(i)], Math.Abs(values[i]));
        var scales = new float[outChannels];
        for (int c = 0; c < outChannels; c++) scales[c] = maxAbs[c] > 0 ? maxAbs[c] / 127f : 1f;

        float[]? bias = null;
        string? biasName = node.Input.Count > 2 ? node.Input[2] : null;
        if (biasName is not null)
        {
            bias = MemoryMarshal.Cast<byte, float>(initializers[biasName].RawData.Span).ToArray();
            initializers.Remove(biasName);
            // A bias must fit int32 at scale input × weight: where it would not, the weight's scale grows.
            for (int c = 0; c < outChannels; c++)
            {
                double needed = Math.Abs(bias[c]) / ((double)inputScale * int.MaxValue) * 1.0001;
                if (scales[c] < needed) scales[c] = (float)needed;
            }
        }

        var q = new byte[values.Length];
        for (int i = 0; i < values.Length; i++)
            q[i] = unchecked((byte)(sbyte)Math.Clamp(Math.Round(values[i] / scales[ChannelOf(i)], MidpointRounding.ToEven), -127, 127));
        added.Add(Raw($"{weightName}/quantized", TensorProto.Types.DataType.Int8, dims, q));
        added.Add(Vector($"{weightName}/scale", scales));
        added.Add(Raw($"{weightName}/zero_point", TensorProto.Types.DataType.Int8, [outChannels], new byte[outChannels]));
        dequantizers.Add(Node("DequantizeLinear", weightName, [$"{weightName}/quantized", $"{weightName}/scale", $"{weightName}/zero_point"],
            OnnxGraphBuilder.Int("axis", 0)));

        if (biasName is null || bias is null) return;
        var biasScales = new float[outChannels];
        var qb = new int[outChannels];
        for (int c = 0; c < outChannels; c++)
        {
            biasScales[c] = inputScale * scales[c];
            qb[c] = (int)Math.Clamp(Math.Round(bias[c] / (double)biasScales[c], MidpointRounding.ToEven), int.MinValue, int.MaxValue);
        }
        added.Add(Raw($"{biasName}/quantized", TensorProto.Types.DataType.Int32, [outChannels], MemoryMarshal.AsBytes(qb.AsSpan()).ToArray()));
        added.Add(Vector($"{biasName}/scale", biasScales));
        added.Add(Raw($"{biasName}/zero_point", TensorProto.Types.DataType.Int32, [outChannels], new byte[outChannels * 4]));
        dequantizers.Add(Node("DequantizeLinear", biasName, [$"{biasName}/quantized", $"{biasName}/scale", $"{biasName}/zero_point"],
            OnnxGraphBuilder.Int("axis", 0)));
    }

    private static NodeProto Node(string opType, string output, string[] inputs, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = output };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        node.Attribute.AddRange(attributes);
        return node;
    }

    private static TensorProto Scalar(string name, float value) =>
        Raw(name, TensorProto.Types.DataType.Float, [], BitConverter.GetBytes(value));

    private static TensorProto Vector(string name, float[] values) =>
        Raw(name, TensorProto.Types.DataType.Float, [values.Length], MemoryMarshal.AsBytes(values.AsSpan()).ToArray());

    private static TensorProto Raw(string name, TensorProto.Types.DataType type, long[] dims, byte[] bytes)
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("ONNX stores tensors little-endian; this exporter copies memory as it is and runs on little-endian machines only");
        var t = new TensorProto { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(bytes) };
        t.Dims.AddRange(dims);
        return t;
    }
}
