using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace UNet.Segmentation.Model.NnUNet;

/// <summary>
/// One 2-D or 3-D convolution or transposed convolution registered as <c>conv</c>, so that its
/// keys read <c>conv1.conv.weight</c> as in MONAI's <c>DynUNet</c>, the module the reference's
/// PyTorch version builds (its <c>Convolution</c> wrapper is a sequence whose only layer is
/// <c>conv</c>). It runs in its weights' type, except where libtorch's low-precision kernel is
/// wrong (see <see cref="forward"/>).
/// </summary>
public sealed class NnUNetConv : nn.Module<Tensor, Tensor>
{
    private readonly Convolution _conv;
    private readonly long[] _kernel, _stride, _padding;
    private readonly bool _transposed;
    private long _casts;

    /// <summary>
    /// A convolution <paramref name="inChannels"/> → <paramref name="outChannels"/> with the
    /// reference's padding (kernel − stride + 1) / 2 per dimension, or a transposed one whose
    /// kernel equals its stride (exactly size × stride out).
    /// </summary>
    internal NnUNetConv(int dims, long inChannels, long outChannels, IReadOnlyList<int> kernel, IReadOnlyList<int> stride, bool bias, bool transposed)
        : base(nameof(NnUNetConv))
    {
        long[] k = kernel.Select(v => (long)v).ToArray(), s = stride.Select(v => (long)v).ToArray();
        long[] p = transposed ? new long[dims] : k.Zip(s, (kk, ss) => (kk - ss + 1) / 2).ToArray();
        (_kernel, _stride, _padding, _transposed) = (k, s, p, transposed);
        _conv = (dims, transposed) switch
        {
            (2, false) => nn.Conv2d(inChannels, outChannels, (k[0], k[1]), (s[0], s[1]), (p[0], p[1]), bias: bias),
            (3, false) => nn.Conv3d(inChannels, outChannels, (k[0], k[1], k[2]), (s[0], s[1], s[2]), (p[0], p[1], p[2]), bias: bias),
            (2, true) => nn.ConvTranspose2d(inChannels, outChannels, (s[0], s[1]), (s[0], s[1]), bias: bias),
            (3, true) => nn.ConvTranspose3d(inChannels, outChannels, (s[0], s[1], s[2]), (s[0], s[1], s[2]), bias: bias),
            _ => throw new ArgumentOutOfRangeException(nameof(dims), dims, "2 or 3 spatial dimensions"),
        };
        register_module("conv", _conv);
        // The reference's initialisation (DynUNet.initialize_weights, and the TF version's
        // KaimingNormal(negative_slope)): He normal for leaky ReLU with a = 0.01, zero bias.
        using var noGrad = no_grad();
        nn.init.kaiming_normal_(_conv.weight, a: 0.01);
        if (_conv.bias is { } b) nn.init.zeros_(b);
    }

    /// <summary>The layer itself.</summary>
    public Convolution Layer => _conv;

    /// <inheritdoc/>
    protected override void RegisterComponents() { }

    /// <summary>
    /// The tensor conversions <see cref="forward"/> has made (input, weight and result, one each
    /// per call computed in float32), for <c>MixedPrecisionModel.Casts</c>.
    /// </summary>
    internal long Casts => Interlocked.Read(ref _casts);

    /// <summary>
    /// Whether a low-precision (bfloat16 or float16) <paramref name="input"/> is computed in float32:
    /// a 3-D convolution (not transposed) whose input is shorter than the kernel along some axis.
    /// libtorch 2.10's CPU <c>Conv3d</c> in bfloat16 returns a wrong, run-to-run different weight
    /// gradient (values up to 1e37, inf, NaN) for an input of depth 2 under a kernel of depth 3 with
    /// a batch of two or more and 16 or more channels on a side — the 2×2×2 bottleneck of a small
    /// patch (<c>NnUNetBFloat16ConvTests</c> pins it); shorter-than-kernel inputs along any axis are
    /// taken in, a superset of what was measured, since such layers are tiny.
    /// </summary>
    internal bool ComputesInFloat32(Tensor input)
    {
        if (_transposed || input.dim() != 5 || input.dtype is not (ScalarType.BFloat16 or ScalarType.Float16)) return false;
        long[] shape = input.shape;
        for (int d = 0; d < 3; d++)
            if (shape[2 + d] < _kernel[d]) return true;
        return false;
    }

    /// <summary>
    /// The convolution of <paramref name="input"/>, in its weights' type; where
    /// <see cref="ComputesInFloat32"/> says so, in float32 (the input and the weight cast up, the
    /// result cast back to the input's type, so that autograd gives the weight a float32-computed
    /// gradient in its own type).
    /// </summary>
    public override Tensor forward(Tensor input)
    {
        if (!ComputesInFloat32(input)) return _conv.forward(input);
        using var scope = NewDisposeScope();
        Interlocked.Add(ref _casts, _conv.bias is null ? 3 : 4);
        var x = input.to(ScalarType.Float32);
        var w = _conv.weight!.to(ScalarType.Float32);
        var b = _conv.bias?.to(ScalarType.Float32);
        var y = nn.functional.conv3d(x, w, b, strides: _stride, padding: _padding);
        return y.to(input.dtype).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// The reference's basic block (MONAI <c>UnetBasicBlock</c>, the TF version's <c>ConvBlock</c>):
/// <c>conv1</c> (strided) → <c>norm1</c> → leaky ReLU → <c>conv2</c> → <c>norm2</c> → leaky ReLU.
/// The convolutions have no bias (instance norm follows); the norms are affine instance norms
/// without running statistics, so training and evaluation compute the same.
/// </summary>
public sealed class NnUNetConvBlock : nn.Module<Tensor, Tensor>
{
    private readonly NnUNetConv _conv1, _conv2;
    private readonly InstanceNorm _norm1, _norm2;
    // Made once and held by the block: an implicit double → Scalar per call leaves the Scalar
    // unreachable while libtorch reads it, and its finalizer freed it mid-call after ~1,000
    // training steps ("Expected false to be true … from toFloat at c10/core/Scalar.h:140").
    private readonly Scalar _slope;

    internal NnUNetConvBlock(NnUNetOptions options, long inChannels, long filters, IReadOnlyList<int> kernel, IReadOnlyList<int> stride)
        : base(nameof(NnUNetConvBlock))
    {
        int dims = options.SpatialDims;
        _slope = options.NegativeSlope.ToScalar();
        _conv1 = new NnUNetConv(dims, inChannels, filters, kernel, stride, bias: false, transposed: false);
        _norm1 = NewNorm(dims, filters);
        _conv2 = new NnUNetConv(dims, filters, filters, kernel, Enumerable.Repeat(1, dims).ToArray(), bias: false, transposed: false);
        _norm2 = NewNorm(dims, filters);
        register_module("conv1", _conv1);
        register_module("norm1", _norm1);
        register_module("conv2", _conv2);
        register_module("norm2", _norm2);
    }

    private static InstanceNorm NewNorm(int dims, long channels) =>
        dims == 2 ? nn.InstanceNorm2d(channels, affine: true) : nn.InstanceNorm3d(channels, affine: true);

    /// <inheritdoc/>
    protected override void RegisterComponents() { }

    /// <summary>The block's output; the intermediates are disposed.</summary>
    public override Tensor forward(Tensor input)
    {
        using var a = Unit(_conv1, _norm1, input);
        return Unit(_conv2, _norm2, a);
    }

    // Conv → instance norm → leaky ReLU in place on the norm's output (instance norm's backward
    // needs its input, not its output; leaky ReLU's backward with a positive slope needs only
    // its output's sign).
    private Tensor Unit(NnUNetConv conv, InstanceNorm norm, Tensor x)
    {
        using var y = conv.forward(x);
        return norm.forward(y).leaky_relu_(_slope);
    }
}

/// <summary>
/// A decoder step (MONAI <c>UnetUpBlock</c>, the TF version's <c>UpsampleBlock</c>):
/// <c>transp_conv</c> (kernel = stride, with bias) up-samples, the skip is concatenated after
/// the up-sampled tensor, and <c>conv_block</c> (an <see cref="NnUNetConvBlock"/> of stride 1)
/// halves the channels back.
/// </summary>
public sealed class NnUNetUpBlock : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly NnUNetConv _transpConv;
    private readonly NnUNetConvBlock _convBlock;

    internal NnUNetUpBlock(NnUNetOptions options, long inChannels, long outChannels, IReadOnlyList<int> kernel, IReadOnlyList<int> upStride)
        : base(nameof(NnUNetUpBlock))
    {
        int dims = options.SpatialDims;
        _transpConv = new NnUNetConv(dims, inChannels, outChannels, upStride, upStride, bias: true, transposed: true);
        _convBlock = new NnUNetConvBlock(options, 2 * outChannels, outChannels, kernel, Enumerable.Repeat(1, dims).ToArray());
        register_module("transp_conv", _transpConv);
        register_module("conv_block", _convBlock);
    }

    /// <inheritdoc/>
    protected override void RegisterComponents() { }

    /// <summary>conv_block(cat[transp_conv(input), skip]).</summary>
    public override Tensor forward(Tensor input, Tensor skip)
    {
        using var up = _transpConv.forward(input);
        using var joined = cat([up, skip], 1);
        return _convBlock.forward(joined);
    }
}

/// <summary>A 1×1 convolution with bias to the classes (MONAI <c>UnetOutBlock</c>): the output block and each deep-supervision head.</summary>
public sealed class NnUNetOutputBlock : nn.Module<Tensor, Tensor>
{
    private readonly NnUNetConv _conv;

    internal NnUNetOutputBlock(NnUNetOptions options, long inChannels) : base(nameof(NnUNetOutputBlock))
    {
        var ones = Enumerable.Repeat(1, options.SpatialDims).ToArray();
        _conv = new NnUNetConv(options.SpatialDims, inChannels, options.Classes, ones, ones, bias: true, transposed: false);
        register_module("conv", _conv);
    }

    /// <inheritdoc/>
    protected override void RegisterComponents() { }

    /// <summary>The logits.</summary>
    public override Tensor forward(Tensor input) => _conv.forward(input);
}
