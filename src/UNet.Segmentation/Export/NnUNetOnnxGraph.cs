using TorchSharp.Modules;
using UNet.Segmentation.Model.NnUNet;
using static TorchSharp.torch;

namespace UNet.Segmentation.Export;

/// <summary>
/// Writes an <see cref="NnUNetModel"/>'s inference forward pass (the main output; the
/// deep-supervision heads are not written) as ONNX nodes from its options, with its state dict as
/// initializers: Conv (padding (k − s + 1)/2 as <see cref="NnUNetConv"/>), InstanceNormalization,
/// LeakyRelu, ConvTranspose (kernel = stride), Concat, the 1×1 output Conv and Softmax. The same
/// nodes serve 2-D and 3-D: only the kernels', strides' and pads' lengths differ.
/// </summary>
internal sealed class NnUNetOnnxGraph
{
    private readonly OnnxGraphBuilder _graph = new();
    private readonly NnUNetOptions _options;
    private readonly Dictionary<string, Tensor> _weights;
    private readonly Dictionary<string, double> _normEps;
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);

    private NnUNetOnnxGraph(NnUNetModel model)
    {
        _options = model.Options;
        _weights = model.state_dict();
        _normEps = model.named_modules().Where(m => m.module is InstanceNorm)
            .ToDictionary(m => m.name, m => m.module is InstanceNorm3d n3 ? n3.eps : ((InstanceNorm2d)m.module).eps, StringComparer.Ordinal);
    }

    /// <summary>The graph of <paramref name="model"/>: nodes and initializers, no inputs or outputs yet.</summary>
    public static OnnxGraphBuilder Build(NnUNetModel model)
    {
        var walk = new NnUNetOnnxGraph(model);
        walk.Walk();
        return walk._graph;
    }

    private void Walk()
    {
        int levels = _options.Levels;
        var k = _options.Kernels;
        var s = _options.Strides;
        var skips = new string[levels - 1];
        skips[0] = ConvBlock("input_block", OnnxExport.InputName, k[0], s[0]);
        for (int i = 1; i < levels - 1; i++) skips[i] = ConvBlock($"downsamples.{i - 1}", skips[i - 1], k[i], s[i]);
        string x = ConvBlock("bottleneck", skips[levels - 2], k[levels - 1], s[levels - 1]);
        for (int j = 0; j < levels - 1; j++)
        {
            int level = levels - 2 - j;
            string block = $"upsamples.{j}";
            var up = s[level + 1].Select(v => (long)v).ToArray();
            string transposed = Conv($"{block}.transp_conv.conv", x, up, up, transposed: true, output: $"{block}.transp_conv");
            string joined = _graph.Node("Concat", $"{block}.concat", [transposed, skips[level]], OnnxGraphBuilder.Int("axis", 1));
            x = ConvBlock($"{block}.conv_block", joined, k[level + 1], Enumerable.Repeat(1, _options.SpatialDims).ToArray());
        }
        var one = Enumerable.Repeat(1L, _options.SpatialDims).ToArray();
        string logits = Conv("output_block.conv.conv", x, one, one, transposed: false, output: OnnxExport.LogitsName);
        _graph.Node("Softmax", OnnxExport.ProbabilitiesName, [logits], OnnxGraphBuilder.Int("axis", 1));
        var unused = _weights.Keys.Where(key => !_used.Contains(key) && !key.StartsWith("deep_supervision_heads.", StringComparison.Ordinal)).ToList();
        if (unused.Count > 0)
            throw new ArgumentException($"the model holds weights its options give no place in the graph: {string.Join(", ", unused)}", "model");
    }

    /// <summary>conv1 (stride) → norm1 → leaky ReLU → conv2 → norm2 → leaky ReLU, as <see cref="NnUNetConvBlock"/>.</summary>
    private string ConvBlock(string block, string x, IReadOnlyList<int> kernel, IReadOnlyList<int> stride)
    {
        long[] kk = kernel.Select(v => (long)v).ToArray(), first = stride.Select(v => (long)v).ToArray(), ones = Enumerable.Repeat(1L, kernel.Count).ToArray();
        foreach (var (i, st) in new[] { (1, first), (2, ones) })
        {
            x = Conv($"{block}.conv{i}.conv", x, kk, st, transposed: false, output: $"{block}.conv{i}");
            string norm = $"{block}.norm{i}";
            if (!_normEps.TryGetValue(norm, out double eps)) throw new ArgumentException($"the model has no instance norm '{norm}'", "model");
            x = _graph.Node("InstanceNormalization", norm, [x, Use($"{norm}.weight"), Use($"{norm}.bias")], OnnxGraphBuilder.Float("epsilon", (float)eps));
            x = _graph.Node("LeakyRelu", $"{block}.lrelu{i}", [x], OnnxGraphBuilder.Float("alpha", (float)_options.NegativeSlope));
        }
        return x;
    }

    private string Conv(string layer, string x, long[] kernel, long[] stride, bool transposed, string output)
    {
        string weight = $"{layer}.weight";
        if (!_weights.TryGetValue(weight, out var w)) throw new ArgumentException($"the model has no weight '{weight}', which its options call for", "model");
        if (w.dim() != kernel.Length + 2 || !w.shape[2..].SequenceEqual(kernel))
            throw new ArgumentException($"weight '{weight}' has shape [{string.Join(", ", w.shape)}]; the graph needs a kernel {string.Join("×", kernel)}", "model");
        var inputs = new List<string> { x, Use(weight) };
        if (_weights.ContainsKey($"{layer}.bias")) inputs.Add(Use($"{layer}.bias"));
        if (transposed)
            return _graph.Node("ConvTranspose", output, inputs, OnnxGraphBuilder.Ints("kernel_shape", kernel), OnnxGraphBuilder.Ints("strides", stride));
        long[] pad = kernel.Zip(stride, (k, s) => (k - s + 1) / 2).ToArray();
        return _graph.Node("Conv", output, inputs,
            OnnxGraphBuilder.Ints("kernel_shape", kernel), OnnxGraphBuilder.Ints("strides", stride), OnnxGraphBuilder.Ints("pads", [.. pad, .. pad]));
    }

    private string Use(string key)
    {
        if (!_weights.TryGetValue(key, out var tensor)) throw new ArgumentException($"the model has no tensor '{key}', which its options call for", "model");
        if (_used.Add(key)) _graph.Initializer(key, tensor);
        return key;
    }
}
