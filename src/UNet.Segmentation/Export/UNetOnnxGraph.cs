using TorchSharp;
using TorchSharp.Modules;
using UNet.Segmentation.Model;
using static TorchSharp.torch;
using UNet.Segmentation.Runtime;

namespace UNet.Segmentation.Export;

/// <summary>
/// Writes a <see cref="UNetModel"/>'s inference forward pass (<c>model.eval()</c>) as ONNX nodes,
/// block by block from its options, with its state dict as the initializers: what
/// <c>UNetModel.forward</c> and the blocks compute, not a trace of one run. Each weight is
/// checked against the channel count the graph has reached, so a model whose weights do not fit
/// its options is refused rather than written.
/// </summary>
internal sealed class UNetOnnxGraph
{
    private readonly OnnxGraphBuilder _graph = new();
    private readonly UNetOptions _options;
    private readonly Dictionary<string, Tensor> _weights;
    private readonly Dictionary<string, double> _batchNormEps;
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);
    private readonly bool _foldBatchNorm;
    private readonly bool _subPixel;
    private long _channels;

    private UNetOnnxGraph(UNetModel model, bool foldBatchNorm, bool subPixelUpsampling)
    {
        _options = model.Options;
        _foldBatchNorm = foldBatchNorm;
        _subPixel = subPixelUpsampling;
        _weights = model.state_dict();
        _batchNormEps = model.named_modules()
            .Where(m => m.module is BatchNorm2d)
            .ToDictionary(m => m.name, m => ((BatchNorm2d)m.module).eps, StringComparer.Ordinal);
    }

    /// <summary>
    /// The graph of <paramref name="model"/>: nodes, initializers, no inputs or outputs yet. With
    /// <paramref name="foldBatchNorm"/> each batch norm is folded into the convolution before it
    /// (<see cref="FoldedSuffix"/> weights and biases, no BatchNormalization node), as the int8
    /// export needs: a quantized convolution's output must go straight into its ReLU. With
    /// <paramref name="subPixelUpsampling"/> each up-convolution is written as a sub-pixel
    /// convolution (<see cref="SubPixelUpsampling"/>: Conv, ReLU, DepthToSpace) instead of
    /// ConvTranspose, so the int8 export can quantize it; the result is the same.
    /// </summary>
    public static OnnxGraphBuilder Build(UNetModel model, bool foldBatchNorm = false, bool subPixelUpsampling = false)
    {
        var walk = new UNetOnnxGraph(model, foldBatchNorm, subPixelUpsampling);
        walk.Walk();
        return walk._graph;
    }

    /// <summary>
    /// How many rows (and columns) each level's skip tensor is larger than the up-sampled tensor it
    /// is concatenated with, index 0 the top level. It does not depend on the input size, which is
    /// what lets the crop be a Slice with constant starts and ends while height and width stay
    /// dynamic:
    /// <para>
    /// Let L be the rows each pair of 3×3 convolutions loses (4 with valid padding, 0 with same),
    /// s_l the encoder's input size at level l, k_l = s_l − L its skip size and u_l the size of the
    /// up-sampled tensor concatenated at level l. Pooling halves an even size exactly, so
    /// s_{l+1} = k_l / 2, i.e. k_l = 2·s_{l+1}; both up-samplings map n to exactly 2n (3×3:
    /// 2n + 1 cropped to 2n; 2×2: 2n). At the bottom (level D = depth), the bottleneck's convs
    /// give s_D − L, so u_{D−1} = 2·(s_D − L) and d_{D−1} = k_{D−1} − u_{D−1} = 2·s_D − 2·s_D + 2L =
    /// 2L. Above it, the decoder's convs at level l+1 give u_{l+1} − L, so
    /// d_l = k_l − u_l = 2·s_{l+1} − 2·(u_{l+1} − L) = 2·(k_{l+1} + L) − 2·u_{l+1} + 2L = 2·d_{l+1} + 4L.
    /// Every s has cancelled: d_l depends on L and the depth only (reference: 176, 80, 32, 8;
    /// same padding: all 0). An input size that is not valid either makes some k_l odd (the
    /// pooling floors it, the concatenation's sizes then differ by one and the Concat fails) or
    /// shrinks to nothing on the way (a Conv fails).
    /// </para>
    /// </summary>
    internal static long[] SkipCropMargins(UNetOptions options)
    {
        long loss = options.Padding == ConvPadding.Valid ? 4 : 0;
        var margins = new long[options.Depth];
        margins[^1] = 2 * loss;
        for (int level = options.Depth - 2; level >= 0; level--) margins[level] = 2 * margins[level + 1] + 4 * loss;
        return margins;
    }

    private void Walk()
    {
        string x = OnnxExport.InputName;
        _channels = _options.InputChannels;
        var skips = new List<(string Name, long Channels)>(_options.Depth);
        foreach (string block in new[] { "input_block" }.Concat(Enumerable.Range(0, _options.Depth - 1).Select(i => $"down_blocks.{i}")))
        {
            x = ConvPair(block, x);
            skips.Add((x, _channels));
            x = _graph.Node("MaxPool", $"{block}.pool", [x],
                OnnxGraphBuilder.Ints("kernel_shape", 2, 2), OnnxGraphBuilder.Ints("strides", 2, 2));
        }
        // The bottleneck's dropout acts in training only: inference has nothing to write.
        x = Upsample("bottleneck", ConvPair("bottleneck", x));
        long[] margins = SkipCropMargins(_options);
        for (int i = 0; i < _options.Depth - 1; i++)
        {
            string block = $"up_blocks.{i}";
            int level = _options.Depth - 1 - i;
            x = Upsample(block, ConvPair(block, Concatenate(block, x, skips[level], margins[level])));
        }
        x = ConvPair("output_block", Concatenate("output_block", x, skips[0], margins[0]));
        string logits = Conv("output_block.conv3", x, kernel: 1, pad: 0, output: OnnxExport.LogitsName);
        _graph.Node("Softmax", OnnxExport.ProbabilitiesName, [logits], OnnxGraphBuilder.Int("axis", 1));

        var unused = _weights.Keys.Where(k => !_used.Contains(k) && !k.EndsWith(".num_batches_tracked", StringComparison.Ordinal)).ToList();
        if (unused.Count > 0)
            throw new ArgumentException($"the model holds weights its options give no place in the graph: {string.Join(", ", unused)}", "model");
    }

    /// <summary>[up-sampled, centre-cropped skip] along the channels, as <c>UpsampleBlock.Concatenate</c>.</summary>
    private string Concatenate(string block, string upsampled, (string Name, long Channels) skip, long margin)
    {
        string cropped = margin == 0 ? skip.Name
            : _graph.Node("Slice", $"{block}.skip_crop",
                [skip.Name, _graph.Int64Constant(margin / 2, margin / 2), _graph.Int64Constant(-margin / 2, -margin / 2), _graph.Int64Constant(2, 3)]);
        _channels += skip.Channels;
        return _graph.Node("Concat", $"{block}.concat", [upsampled, cropped], OnnxGraphBuilder.Int("axis", 1));
    }

    /// <summary>conv1 → (bn1) → ReLU → conv2 → (bn2) → ReLU, as <c>ConvBlock.Convolve</c>.</summary>
    private string ConvPair(string block, string x)
    {
        long pad = _options.Padding == ConvPadding.Same ? 1 : 0;
        foreach (int i in new[] { 1, 2 })
        {
            if (_options.BatchNorm && _foldBatchNorm)
                x = FoldedConv($"{block}.conv{i}", $"{block}.bn{i}", x, pad);
            else
            {
                x = Conv($"{block}.conv{i}", x, kernel: 3, pad, output: $"{block}.conv{i}");
                if (_options.BatchNorm) x = BatchNorm($"{block}.bn{i}", x);
            }
            x = _graph.Node("Relu", $"{block}.relu{i}", [x]);
        }
        return x;
    }

    /// <summary>The suffix of a convolution's weight and bias with its batch norm folded in.</summary>
    public const string FoldedSuffix = ".bn_folded";

    /// <summary>
    /// A 3×3 convolution with the batch norm after it folded in (inference statistics): with
    /// s = γ / √(σ² + ε) per output channel, W' = W·s and b' = (b − μ)·s + β, computed in float64.
    /// </summary>
    private string FoldedConv(string layer, string batchNorm, string x, long pad)
    {
        if (!_batchNormEps.TryGetValue(batchNorm, out double eps))
            throw new ArgumentException($"the model has no batch norm '{batchNorm}' although its options ask for batch norm", "model");
        var (weight, outChannels) = CheckedWeight($"{layer}.weight", 3, transposed: false);
        using var scope = NewDisposeScope();
        Tensor Get(string key)
        {
            _used.Add(key);
            return _weights.TryGetValue(key, out var t) ? t.detach().cpu().to(ScalarType.Float64)
                : throw new ArgumentException($"the model has no tensor '{key}', which its options call for", "model");
        }
        _used.Add($"{layer}.weight");
        var w = weight.detach().cpu().to(ScalarType.Float64);
        var bias = _weights.ContainsKey($"{layer}.bias") ? Get($"{layer}.bias") : zeros(outChannels, ScalarType.Float64);
        // Held Scalars, not TorchSharp's temporaries for + (Runtime/HeldScalars.cs).
        using Scalar epsilon = eps.ToScalar();
        var scale = Get($"{batchNorm}.weight") / Get($"{batchNorm}.running_var").Plus(epsilon).sqrt();
        var foldedWeight = w * scale.view(-1, 1, 1, 1);
        var foldedBias = ((bias - Get($"{batchNorm}.running_mean")) * scale).Plus(Get($"{batchNorm}.bias"));
        string weightName = _graph.Initializer($"{layer}.weight{FoldedSuffix}", foldedWeight);
        string biasName = _graph.Initializer($"{layer}.bias{FoldedSuffix}", foldedBias);
        _channels = outChannels;
        return _graph.Node("Conv", $"{layer}", [x, weightName, biasName],
            OnnxGraphBuilder.Ints("kernel_shape", 3, 3), OnnxGraphBuilder.Ints("pads", pad, pad, pad, pad), OnnxGraphBuilder.Ints("strides", 1, 1));
    }

    private string Conv(string layer, string x, long kernel, long pad, string output)
    {
        var weight = Weight($"{layer}.weight", kernel, transposed: false);
        var inputs = new List<string> { x, weight.Name };
        if (_weights.ContainsKey($"{layer}.bias")) inputs.Add(Use($"{layer}.bias"));
        _channels = weight.Out;
        return _graph.Node("Conv", output, inputs,
            OnnxGraphBuilder.Ints("kernel_shape", kernel, kernel), OnnxGraphBuilder.Ints("pads", pad, pad, pad, pad), OnnxGraphBuilder.Ints("strides", 1, 1));
    }

    /// <summary>Batch norm with the running statistics (inference), epsilon read from the module itself.</summary>
    private string BatchNorm(string layer, string x)
    {
        if (!_batchNormEps.TryGetValue(layer, out double eps))
            throw new ArgumentException($"the model has no batch norm '{layer}' although its options ask for batch norm", "model");
        string[] inputs = [x, Use($"{layer}.weight"), Use($"{layer}.bias"), Use($"{layer}.running_mean"), Use($"{layer}.running_var")];
        return _graph.Node("BatchNormalization", layer, inputs, OnnxGraphBuilder.Float("epsilon", (float)eps));
    }

    /// <summary>
    /// The decoder's doubling, as <c>Blocks.Upsample</c>: the stride-2 transposed conv; with the 3×3
    /// kernel its 2n + 1 rows and columns are sliced to the first 2n (TensorFlow's 'same'
    /// arithmetic) and a ReLU follows; the 2×2 kernel gives 2n and stays linear. As a sub-pixel
    /// convolution when the graph is built so.
    /// </summary>
    private string Upsample(string block, string x)
    {
        long kernel = _options.Upsampling == Upsampling.TransposedConv3x3 ? 3 : 2;
        string layer = $"{block}.upconv";
        if (_subPixel)
        {
            var (w, outChannels) = CheckedWeight($"{layer}.weight", kernel, transposed: true);
            _used.Add($"{layer}.weight");
            Tensor? bias = null;
            if (_weights.TryGetValue($"{layer}.bias", out var b))
            {
                _used.Add($"{layer}.bias");
                bias = b;
            }
            _channels = outChannels;
            return SubPixelUpsampling.Write(_graph, layer, x, w, bias, _options.Upsampling);
        }
        var weight = Weight($"{layer}.weight", kernel, transposed: true); // in × out × k × k, in torch and in ONNX
        var inputs = new List<string> { x, weight.Name };
        if (_weights.ContainsKey($"{layer}.bias")) inputs.Add(Use($"{layer}.bias"));
        _channels = weight.Out;
        x = _graph.Node("ConvTranspose", layer, inputs, OnnxGraphBuilder.Ints("kernel_shape", kernel, kernel), OnnxGraphBuilder.Ints("strides", 2, 2));
        if (_options.Upsampling == Upsampling.TransposedConv2x2) return x;
        x = _graph.Node("Slice", $"{layer}.crop", [x, _graph.Int64Constant(0, 0), _graph.Int64Constant(-1, -1), _graph.Int64Constant(2, 3)]);
        return _graph.Node("Relu", $"{layer}.relu", [x]);
    }

    /// <summary>A 4-D k×k weight whose input channels must be the graph's current count: out × in × k × k, or in × out × k × k when <paramref name="transposed"/>.</summary>
    private (string Name, long Out) Weight(string key, long kernel, bool transposed)
    {
        var (_, outChannels) = CheckedWeight(key, kernel, transposed);
        return (Use(key), outChannels);
    }

    /// <summary>The weight <paramref name="key"/> and its output channels, once its shape is checked against the graph.</summary>
    private (Tensor Weight, long Out) CheckedWeight(string key, long kernel, bool transposed)
    {
        if (!_weights.TryGetValue(key, out var w))
            throw new ArgumentException($"the model has no weight '{key}', which its options call for", "model");
        long[] shape = w.shape;
        if (shape.Length != 4 || shape[2] != kernel || shape[3] != kernel || shape[transposed ? 0 : 1] != _channels)
            throw new ArgumentException(
                $"weight '{key}' has shape [{string.Join(", ", shape)}]; the graph needs {(transposed ? "in × out" : "out × in")} × {kernel} × {kernel} with {_channels} input channels", "model");
        return (w, shape[transposed ? 1 : 0]);
    }

    private string Use(string key)
    {
        if (!_weights.TryGetValue(key, out var tensor))
            throw new ArgumentException($"the model has no tensor '{key}', which its options call for", "model");
        if (_used.Add(key)) _graph.Initializer(key, tensor);
        return key;
    }
}
