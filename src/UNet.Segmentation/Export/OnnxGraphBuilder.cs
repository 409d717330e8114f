using Google.Protobuf;
using TorchSharp;
using UNet.Segmentation.Export.Onnx;
using static TorchSharp.torch;

namespace UNet.Segmentation.Export;

/// <summary>
/// Appends ONNX nodes and float32 initializers to a <see cref="GraphProto"/>, one operator per
/// method, named by the caller. Every node gets the name of its (single) output value, so a
/// value's name tells which layer made it.
/// </summary>
internal sealed class OnnxGraphBuilder
{
    private readonly Dictionary<string, string> _constants = new(StringComparer.Ordinal);

    public GraphProto Graph { get; } = new();

    /// <summary>Bytes of float32 weights added so far.</summary>
    public long InitializerBytes { get; private set; }

    /// <summary>Adds <paramref name="tensor"/> as a float32 initializer (contiguous NCHW, little-endian) named <paramref name="name"/>.</summary>
    public string Initializer(string name, Tensor tensor)
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("ONNX stores tensors little-endian; this exporter copies memory as it is and runs on little-endian machines only");
        using var scope = NewDisposeScope();
        var host = tensor.detach();
        if (host.device_type != DeviceType.CPU) host = host.cpu();
        if (host.dtype != ScalarType.Float32) host = host.to(ScalarType.Float32);
        if (!host.is_contiguous()) host = host.contiguous();
        var proto = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float, RawData = ByteString.CopyFrom(host.bytes) };
        proto.Dims.AddRange(host.shape);
        Graph.Initializer.Add(proto);
        InitializerBytes += proto.RawData.Length;
        return name;
    }

    /// <summary>Adds a node of <paramref name="opType"/> whose one output is named <paramref name="output"/>; returns that name.</summary>
    public string Node(string opType, string output, IEnumerable<string> inputs, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = output };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        node.Attribute.AddRange(attributes);
        Graph.Node.Add(node);
        return output;
    }

    /// <summary>A 1-D int64 constant (a <c>Constant</c> node with <c>value_ints</c>), made once per distinct value.</summary>
    public string Int64Constant(params long[] values)
    {
        string key = string.Join(",", values);
        if (_constants.TryGetValue(key, out var existing)) return existing;
        string name = $"const.{_constants.Count}";
        _constants[key] = name;
        // A Constant node has no inputs: it goes first, before any node that reads it.
        var node = new NodeProto { OpType = "Constant", Name = name };
        node.Output.Add(name);
        node.Attribute.Add(Ints("value_ints", values));
        Graph.Node.Insert(_constants.Count - 1, node);
        return name;
    }

    public static AttributeProto Int(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Float(string name, float value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    public static AttributeProto Ints(string name, params long[] values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.AddRange(values);
        return attribute;
    }

    /// <summary>A float32 tensor value of rank <c>dims.Length</c>: each dimension a fixed size (long) or a symbolic name (string).</summary>
    public static ValueInfoProto FloatTensor(string name, string docString, params object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
            shape.Dim.Add(d switch
            {
                long size => new TensorShapeProto.Types.Dimension { DimValue = size },
                string symbol => new TensorShapeProto.Types.Dimension { DimParam = symbol },
                _ => throw new ArgumentException($"a dimension is a long or a string, not {d?.GetType().Name ?? "null"}", nameof(dims)),
            });
        var type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } };
        return new ValueInfoProto { Name = name, Type = type, DocString = docString };
    }
}
