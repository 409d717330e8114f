using System.Runtime.InteropServices;
using UNet.Segmentation.Export.Onnx;
using static TorchSharp.torch;

namespace UNet.Segmentation.Export;

/// <summary>
/// Runs a float32 graph written by <see cref="UNetOnnxGraph"/> (Conv, also padded unevenly,
/// ConvTranspose, DepthToSpace, Relu, MaxPool, Slice, Concat, Softmax, BatchNormalization and
/// int64 Constants) with TorchSharp's CPU
/// operators, node by node, and shows every value it computes to an observer: what the int8
/// export calibrates on. It runs the graph that is written, not the model, so the names it
/// reports are the graph's value names. A value is disposed after its last reader.
/// </summary>
internal sealed class OnnxTorchInterpreter : IDisposable
{
    private readonly GraphProto _graph;
    private readonly Dictionary<string, Tensor> _initializers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long[]> _constants = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _lastUse = new(StringComparer.Ordinal);

    public OnnxTorchInterpreter(GraphProto graph)
    {
        _graph = graph;
        foreach (var t in graph.Initializer)
        {
            if (t.DataType != (int)TensorProto.Types.DataType.Float)
                throw new NotSupportedException($"initializer '{t.Name}' is of ONNX type {t.DataType}; the interpreter reads float32 graphs");
            var values = MemoryMarshal.Cast<byte, float>(t.RawData.Span).ToArray();
            _initializers[t.Name] = tensor(values, t.Dims.ToArray());
        }
        for (int i = 0; i < graph.Node.Count; i++)
            foreach (string input in graph.Node[i].Input)
                _lastUse[input] = i;
        foreach (var output in graph.Output) _lastUse[output.Name] = int.MaxValue;
    }

    /// <summary>
    /// The graph's outputs for <paramref name="input"/> (its one input); <paramref name="observe"/>
    /// sees the input and then each node's output as it is computed (not to be kept: it may be
    /// disposed after its last reader). The caller disposes the outputs.
    /// </summary>
    public Dictionary<string, Tensor> Run(Tensor input, Action<string, Tensor> observe)
    {
        var values = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        string inputName = _graph.Input[0].Name;
        values[inputName] = input;
        observe(inputName, input);
        try
        {
            for (int i = 0; i < _graph.Node.Count; i++)
            {
                var node = _graph.Node[i];
                if (node.OpType == "Constant")
                {
                    _constants[node.Output[0]] = node.Attribute.Single(a => a.Name == "value_ints").Ints.ToArray();
                    continue;
                }
                var result = Evaluate(node, values);
                values[node.Output[0]] = result;
                observe(node.Output[0], result);
                foreach (string name in node.Input.Distinct())
                    if (name != inputName && values.TryGetValue(name, out var done) && _lastUse.GetValueOrDefault(name) == i)
                    {
                        done.Dispose();
                        values.Remove(name);
                    }
            }
            var outputs = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            foreach (var o in _graph.Output)
            {
                outputs[o.Name] = values[o.Name];
                values.Remove(o.Name);
            }
            return outputs;
        }
        finally
        {
            values.Remove(inputName);
            foreach (var leftover in values.Values) leftover.Dispose();
        }
    }

    private Tensor Evaluate(NodeProto node, Dictionary<string, Tensor> values)
    {
        Tensor In(int i) => values.TryGetValue(node.Input[i], out var v) ? v
            : _initializers.TryGetValue(node.Input[i], out var w) ? w
            : throw new InvalidOperationException($"node '{node.Name}' reads '{node.Input[i]}', which nothing has computed");
        long[] Ints(string name) => node.Attribute.Single(a => a.Name == name).Ints.ToArray();
        long Int(string name) => node.Attribute.Single(a => a.Name == name).I;
        switch (node.OpType)
        {
            case "Conv":
            {
                // ONNX pads: top, left, bottom, right.
                long[] pads = Ints("pads");
                var bias = node.Input.Count > 2 ? In(2) : null;
                if (pads[0] == pads[2] && pads[1] == pads[3])
                    return nn.functional.conv2d(In(0), In(1), bias, strides: Ints("strides"), padding: [pads[0], pads[1]]);
                using var padded = nn.functional.pad(In(0), [pads[1], pads[3], pads[0], pads[2]]);
                return nn.functional.conv2d(padded, In(1), bias, strides: Ints("strides"));
            }
            case "DepthToSpace":
            {
                var x = In(0);
                long block = Int("blocksize"), n = x.shape[0], c = x.shape[1] / (block * block), h = x.shape[2], w = x.shape[3];
                // DCR, ONNX's default mode (the graphs written here set no mode): input channel (a·block + b)·C + c goes to output channel c, row h·block + a, column w·block + b.
                using var blocks = x.reshape(n, block, block, c, h, w);
                using var moved = blocks.permute(0, 3, 4, 1, 5, 2);
                return moved.reshape(n, c, h * block, w * block);
            }
            case "ConvTranspose":
                return nn.functional.conv_transpose2d(In(0), In(1), node.Input.Count > 2 ? In(2) : null, strides: Ints("strides"));
            case "BatchNormalization":
                return nn.functional.batch_norm(In(0), In(3), In(4), In(1), In(2), training: false, eps: node.Attribute.Single(a => a.Name == "epsilon").F);
            case "Relu":
                return nn.functional.relu(In(0));
            case "MaxPool":
                return nn.functional.max_pool2d(In(0), Ints("kernel_shape"), strides: Ints("strides"));
            case "Concat":
                return cat(Enumerable.Range(0, node.Input.Count).Select(In).ToList(), Int("axis"));
            case "Softmax":
                return In(0).softmax(Int("axis"));
            case "Slice":
            {
                long[] starts = _constants[node.Input[1]], ends = _constants[node.Input[2]], axes = _constants[node.Input[3]];
                var x = In(0);
                for (int a = 0; a < axes.Length; a++)
                {
                    long size = x.shape[axes[a]];
                    long start = Math.Clamp(starts[a] < 0 ? starts[a] + size : starts[a], 0, size);
                    long end = Math.Clamp(ends[a] < 0 ? ends[a] + size : ends[a], start, size);
                    x = x.narrow(axes[a], start, end - start);
                }
                return x.contiguous();
            }
            default:
                throw new NotSupportedException($"node '{node.Name}': the interpreter does not run {node.OpType}");
        }
    }

    public void Dispose()
    {
        foreach (var t in _initializers.Values) t.Dispose();
        _initializers.Clear();
    }
}
