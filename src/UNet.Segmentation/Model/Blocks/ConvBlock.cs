using TorchSharp.Modules;
using static TorchSharp.torch;

namespace UNet.Segmentation.Model.Blocks;

/// <summary>
/// The two 3×3 convolutions every block starts with: <c>conv1</c> (→ <c>bn1</c>) → ReLU →
/// <c>conv2</c> (→ <c>bn2</c>) → ReLU. With batch norm the convs have no bias.
/// </summary>
public abstract class ConvBlock : nn.Module
{
    private readonly Conv2d _conv1;
    private readonly Conv2d _conv2;
    private readonly BatchNorm2d? _bn1;
    private readonly BatchNorm2d? _bn2;

    /// <summary>Registers conv1, conv2 (and bn1, bn2).</summary>
    protected ConvBlock(string name, long inChannels, long filters, UNetOptions options) : base(name)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
        long pad = options.Padding == ConvPadding.Same ? 1 : 0;
        bool bias = !options.BatchNorm;
        _conv1 = nn.Conv2d(inChannels, filters, 3, padding: pad, bias: bias);
        register_module("conv1", _conv1);
        if (options.BatchNorm) register_module("bn1", _bn1 = nn.BatchNorm2d(filters));
        _conv2 = nn.Conv2d(filters, filters, 3, padding: pad, bias: bias);
        register_module("conv2", _conv2);
        if (options.BatchNorm) register_module("bn2", _bn2 = nn.BatchNorm2d(filters));
    }

    /// <summary>The options the block was built with.</summary>
    protected UNetOptions Options { get; }

    /// <summary>
    /// Every layer is registered by name in the constructors (<c>conv1</c>, <c>bn1</c>,
    /// <c>upconv</c>, …), the keys PyTorch uses. TorchSharp would otherwise also register the
    /// private fields by reflection when the block joins a parent, under their field names
    /// (<c>_conv1</c>), and every weight would appear twice in the state dict.
    /// </summary>
    protected override void RegisterComponents() { }

    /// <summary>conv1 → (bn1) → ReLU → conv2 → (bn2) → ReLU (ReLU in place); the intermediates are disposed.</summary>
    protected Tensor Convolve(Tensor x)
    {
        using var a = Unit(_conv1, _bn1, x);
        return Unit(_conv2, _bn2, a);
    }

    // ReLU runs in place on the conv (or batch-norm) output: neither backward needs that output,
    // and it saves a full-size allocation plus a pass over memory per conv — at 572×572 and 64
    // filters an activation is 83 MB per image.
    private static Tensor Unit(Conv2d conv, BatchNorm2d? bn, Tensor x)
    {
        var y = conv.forward(x);
        if (bn is null) return y.relu_();
        using (y)
        {
            return bn.forward(y).relu_();
        }
    }

    /// <summary>Runs the options' initialisation over this block; called by the derived constructors once all layers exist.</summary>
    protected void InitializeWeights() => Blocks.Initialize(this, Options.Initialization);
}
