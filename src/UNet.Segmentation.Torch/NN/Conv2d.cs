namespace UNet.Segmentation.Torch.NN;

/// <summary>2-D convolution layer (<c>weight</c>: out × in/groups × kH × kW, <c>bias</c>: out), initialised as PyTorch's Conv2d.</summary>
public sealed class Conv2d : Module<Tensor, Tensor>
{
    /// <summary>Creates the layer; every size must be positive and the channels divisible by <paramref name="groups"/>.</summary>
    public Conv2d(long inChannels, long outChannels, Size2 kernelSize, Size2? stride = null, Size2? padding = null, Size2? dilation = null, long groups = 1, bool bias = true)
    {
        ConvArguments.Validate(inChannels, outChannels, kernelSize, stride ?? 1, padding ?? 0, dilation ?? 1, groups);
        Stride = stride ?? 1;
        Padding = padding ?? 0;
        Dilation = dilation ?? 1;
        Groups = groups;
        using var scope = TensorScope.Begin();
        Weight = RegisterParameter("weight", new Parameter(Tensor.Empty([outChannels, inChannels / groups, kernelSize.Height, kernelSize.Width])))!;
        Bias = RegisterParameter("bias", bias ? new Parameter(Tensor.Empty([outChannels])) : null);
        ConvArguments.ResetLikePyTorch(Weight, Bias);
    }

    /// <summary>The kernel.</summary>
    public Parameter Weight { get; }
    /// <summary>The bias, or null.</summary>
    public Parameter? Bias { get; }
    /// <summary>Stride.</summary>
    public Size2 Stride { get; }
    /// <summary>Zero padding on each side.</summary>
    public Size2 Padding { get; }
    /// <summary>Dilation.</summary>
    public Size2 Dilation { get; }
    /// <summary>Channel groups.</summary>
    public long Groups { get; }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => Functional.Conv2d(input, Weight, Bias, Stride, Padding, Dilation, Groups);
}

/// <summary>2-D transposed convolution layer (<c>weight</c>: in × out/groups × kH × kW), initialised as PyTorch's ConvTranspose2d.</summary>
public sealed class ConvTranspose2d : Module<Tensor, Tensor>
{
    /// <summary>Creates the layer; output padding must be smaller than the stride or the dilation.</summary>
    public ConvTranspose2d(long inChannels, long outChannels, Size2 kernelSize, Size2? stride = null, Size2? padding = null, Size2? outputPadding = null, long groups = 1, bool bias = true, Size2? dilation = null)
    {
        ConvArguments.Validate(inChannels, outChannels, kernelSize, stride ?? 1, padding ?? 0, dilation ?? 1, groups);
        var op = outputPadding ?? 0;
        Size2 s = stride ?? 1, d = dilation ?? 1;
        if (op.Height < 0 || op.Width < 0 || (op.Height >= s.Height && op.Height >= d.Height) || (op.Width >= s.Width && op.Width >= d.Width))
            throw new ArgumentOutOfRangeException(nameof(outputPadding), op, "output padding must be non-negative and smaller than the stride or the dilation");
        Stride = s;
        Padding = padding ?? 0;
        OutputPadding = op;
        Dilation = d;
        Groups = groups;
        using var scope = TensorScope.Begin();
        Weight = RegisterParameter("weight", new Parameter(Tensor.Empty([inChannels, outChannels / groups, kernelSize.Height, kernelSize.Width])))!;
        Bias = RegisterParameter("bias", bias ? new Parameter(Tensor.Empty([outChannels])) : null);
        ConvArguments.ResetLikePyTorch(Weight, Bias);
    }

    /// <summary>The kernel.</summary>
    public Parameter Weight { get; }
    /// <summary>The bias, or null.</summary>
    public Parameter? Bias { get; }
    /// <summary>Stride.</summary>
    public Size2 Stride { get; }
    /// <summary>Implicit padding removed from each side of the full output.</summary>
    public Size2 Padding { get; }
    /// <summary>Extra size added to one side of the output.</summary>
    public Size2 OutputPadding { get; }
    /// <summary>Dilation.</summary>
    public Size2 Dilation { get; }
    /// <summary>Channel groups.</summary>
    public long Groups { get; }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input) =>
        Functional.ConvTranspose2d(input, Weight, Bias, Stride, Padding, OutputPadding, Groups, Dilation);
}

internal static class ConvArguments
{
    internal static void Validate(long inChannels, long outChannels, Size2 kernel, Size2 stride, Size2 padding, Size2 dilation, long groups)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inChannels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(outChannels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(groups, 1);
        if (inChannels % groups != 0 || outChannels % groups != 0)
            throw new ArgumentException($"in ({inChannels}) and out ({outChannels}) channels must both be divisible by groups ({groups})", nameof(groups));
        if (kernel.Height < 1 || kernel.Width < 1) throw new ArgumentOutOfRangeException(nameof(kernel), kernel, "kernel size must be positive");
        if (stride.Height < 1 || stride.Width < 1) throw new ArgumentOutOfRangeException(nameof(stride), stride, "stride must be positive");
        if (padding.Height < 0 || padding.Width < 0) throw new ArgumentOutOfRangeException(nameof(padding), padding, "padding must be non-negative");
        if (dilation.Height < 1 || dilation.Width < 1) throw new ArgumentOutOfRangeException(nameof(dilation), dilation, "dilation must be positive");
    }

    /// <summary>PyTorch's default: kaiming_uniform(a=√5) weights, bias U(±1/√fan_in).</summary>
    internal static void ResetLikePyTorch(Parameter weight, Parameter? bias)
    {
        Init.KaimingUniform_(weight, a: Math.Sqrt(5));
        if (bias is null) return;
        var (fanIn, _) = Init.Fans(weight);
        double bound = fanIn > 0 ? 1 / Math.Sqrt(fanIn) : 0;
        Init.Uniform_(bias, -bound, bound);
    }
}
