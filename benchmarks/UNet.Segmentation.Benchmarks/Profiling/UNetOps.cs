using TorchSharp.Modules;
using UNet.Segmentation.Model;
using UNet.Segmentation.Model.Blocks;
using UNet.Segmentation.Model.Precision;
using UNet.Segmentation.Training;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace UNet.Segmentation.Benchmarks.Profiling;

/// <summary>
/// The operators of a U-Net training step or inference pass, in the order the model runs them
/// (<see cref="UNetModel.forward"/> and its blocks), each as a <see cref="ProfiledOp"/> on the
/// real layers of <paramref name="network"/> (the float32 model, or a working copy whose
/// convolutions are in <paramref name="dtype"/>) and on random activations of the real
/// shape, type and layout: the input's cast, every 3×3 convolution, ReLU (in place, as the
/// blocks run it), max pooling, dropout, the up-sampling (transposed convolution, crop and
/// ReLU, as <see cref="Blocks.Upsample"/> runs it), the crop and concatenation of a skip, the 1×1 convolution, the logits' cast to
/// float32 and the loss (training) or soft-max (inference).
/// </summary>
public sealed class UNetOps(UNetOptions options, nn.Module network, ScalarType dtype, bool channelsLast, bool training, int batch)
{
    private readonly Dictionary<string, nn.Module> _modules = network.named_modules().ToDictionary(m => m.name, m => m.module);
    private readonly List<ProfiledOp> _ops = [];

    /// <summary>The operators, those of one shape merged (their <see cref="ProfiledOp.Count"/> summed).</summary>
    public IReadOnlyList<ProfiledOp> Build()
    {
        _ops.Clear();
        int shrink = options.Padding == ConvPadding.Valid ? 2 : 0;
        long s = options.InputSize, cin = options.InputChannels, f = options.BaseFilters;
        InputCast();
        var skips = new List<(long C, long S)>();
        for (int level = 0; level < options.Depth; level++)
        {
            string block = level == 0 ? "input_block" : $"down_blocks.{level - 1}";
            s = Pair(block, cin, f << level, s, shrink, first: level == 0);
            skips.Add((f << level, s));
            Add(new("max-pool 2x2 " + Shape(f << level, s), "max-pool", 0, 0, Leaf(f << level, s), a => F.max_pool2d(a[0], [2, 2])));
            s /= 2;
            cin = f << level;
        }
        long c = f << options.Depth;
        s = Pair("bottleneck", cin, c, s, shrink, first: false);
        if (training && options.DropoutRate > 0)
            Add(new("dropout " + Shape(c, s), "dropout", 0, 0, Leaf(c, s), a => F.dropout(a[0], options.DropoutRate, training: true)));
        s = Upconv("bottleneck", c, s);
        for (int i = 0; i < options.Depth; i++)
        {
            c >>= 1;
            var skip = skips[^(i + 1)];
            Concat(c, s, skip.S);
            string block = i < options.Depth - 1 ? $"up_blocks.{i}" : "output_block";
            s = Pair(block, 2 * c, c, s, shrink, first: false);
            if (i < options.Depth - 1) s = Upconv(block, c, s);
        }
        Add(Conv("conv1x1", "output_block.conv3", f, options.Classes, s, 1, first: false));
        Output(options.Classes, s);
        return _ops;
    }

    private static string Shape(long c, long s) => $"{c}@{s}";

    private void Add(ProfiledOp op)
    {
        int i = _ops.FindIndex(o => o.Name == op.Name);
        if (i < 0) _ops.Add(op);
        else _ops[i] = _ops[i] with { Count = _ops[i].Count + 1 };
    }

    /// <summary>A random batch×c×s×s activation in the compute type and the model's layout.</summary>
    private Tensor Activation(long c, long s, ScalarType? type = null)
    {
        var x = randn([batch, c, s, s], type ?? dtype);
        if (!channelsLast) return x;
        using (x) return ChannelsLast.Of(x);
    }

    /// <summary>Prepares one activation as a leaf that requires grad when training.</summary>
    private Func<(Tensor[], Tensor[])> Leaf(long c, long s) => () =>
    {
        var x = Activation(c, s).requires_grad_(training);
        return (new[] { x }, training ? new[] { x } : []);
    };

    /// <summary>
    /// What the model does to its input before the first layer: the mixed-precision copy's single
    /// conversion to the compute type and layout, or (float32) the model's channels-last re-lay.
    /// </summary>
    private void InputCast()
    {
        if (dtype == ScalarType.Float32 && !channelsLast) return;
        long s = options.InputSize;
        Add(new("input cast/re-lay " + Shape(options.InputChannels, s), "casts", 0, 0,
            () => (new[] { randn([batch, options.InputChannels, s, s]) }, Array.Empty<Tensor>()),
            a =>
            {
                if (dtype == ScalarType.Float32) return ChannelsLast.Of(a[0]);
                if (!channelsLast) return a[0].to(dtype);
                using var nhwc = empty([batch, s, s, options.InputChannels], dtype);
                return nhwc.permute(0, 3, 1, 2).copy_(a[0]);
            }));
    }

    /// <summary>A block's conv1 → ReLU → conv2 → ReLU; returns the size after them.</summary>
    private long Pair(string block, long cin, long c, long s, int shrink, bool first)
    {
        Add(Conv("conv3x3", block + ".conv1", cin, c, s, 3, first));
        s -= shrink;
        Add(Relu(c, s));
        Add(Conv("conv3x3", block + ".conv2", c, c, s, 3, first: false));
        s -= shrink;
        Add(Relu(c, s));
        return s;
    }

    private ProfiledOp Conv(string kind, string module, long cin, long cout, long s, int k, bool first)
    {
        var conv = (Conv2d)_modules[module];
        long pad = k == 3 && options.Padding == ConvPadding.Same ? 1 : 0;
        long o = s - k + 1 + 2 * pad;
        double flops = 2.0 * batch * o * o * cout * cin * k * k;
        var weights = conv.parameters().ToArray();
        return new($"{kind} {cin}→{cout} @{s}", kind, flops, training ? (first ? 1 : 2) * flops : 0,
            () =>
            {
                var x = Activation(cin, s).requires_grad_(training && !first);
                Tensor[] targets = !training ? [] : first ? weights : [x, .. weights];
                return (new[] { x }, targets);
            },
            a => conv.forward(a[0]));
    }

    /// <summary>ReLU in place on a conv's output (a clone of the leaf, so that autograd lets it run in place).</summary>
    private ProfiledOp Relu(long c, long s) => new("relu_ " + Shape(c, s), "relu", 0, 0,
        () =>
        {
            var leaf = Activation(c, s).requires_grad_(training);
            return training ? (new[] { leaf.clone() }, new[] { leaf }) : (new[] { leaf }, Array.Empty<Tensor>());
        },
        a => a[0].relu_());

    /// <summary>
    /// The up-sampling as the library runs it (<see cref="Blocks.Upsample"/>: the stride-2
    /// transposed conv, its crop to 2s and ReLU in place, or the equivalent sub-pixel conv); returns 2s.
    /// </summary>
    private long Upconv(string block, long c, long s)
    {
        var up = (ConvTranspose2d)_modules[block + ".upconv"];
        long k = up.weight!.shape[2];
        double flops = 2.0 * batch * s * s * c * (c / 2) * k * k;
        var weights = up.parameters().ToArray();
        Add(new($"upconv{k}x{k}+crop+relu_ {c}→{c / 2} @{s}", "upconv", flops, training ? 2 * flops : 0,
            () =>
            {
                var x = Activation(c, s).requires_grad_(training);
                Tensor[] targets = training ? [x, .. weights] : [];
                return (new[] { x }, targets);
            },
            a => Blocks.Upsample(up, a[0], options.Upsampling)));
        return options.Upsampling == Upsampling.TransposedConv2x2 ? (s - 1) * 2 + k : 2 * s;
    }

    /// <summary>The decoder's concatenation: the up-sampled tensor (a view into the transposed conv's larger output) with the centre crop of the skip.</summary>
    private void Concat(long c, long s, long skip) => Add(new($"crop+concat {c}@{s} + {c}@{skip}", "crop+concat", 0, 0,
        () =>
        {
            using var full = Activation(c, s + 1);
            using var rows = full.narrow(2, 0, s);
            using var view = rows.narrow(3, 0, s);
            var up = view.detach().requires_grad_(training);
            var sk = Activation(c, skip).requires_grad_(training);
            return (new[] { up, sk }, training ? new[] { up, sk } : Array.Empty<Tensor>());
        },
        a => UpsampleBlock.Concatenate(a[0], a[1])));

    /// <summary>Training: the logits' cast to float32 and the Dice + cross-entropy loss; inference: the float32 soft-max.</summary>
    private void Output(long classes, long s)
    {
        if (!training)
        {
            Add(new("softmax→fp32 " + Shape(classes, s), "loss/softmax", 0, 0, Leaf(classes, s), a => a[0].softmax(1, ScalarType.Float32)));
            return;
        }
        if (dtype != ScalarType.Float32)
            Add(new("logits cast→fp32 " + Shape(classes, s), "casts", 0, 0, Leaf(classes, s), a => a[0].to(ScalarType.Float32)));
        Add(new("dice+CE loss " + Shape(classes, s), "loss/softmax", 0, 0,
            () =>
            {
                using var low = Activation(classes, s);
                var logits = low.to(ScalarType.Float32).requires_grad_(true);
                var labels = randint(0, classes, [batch, s, s]);
                return (new[] { logits, labels }, new[] { logits });
            },
            a => Losses.DiceCrossEntropy(a[0], a[1])));
    }
}
