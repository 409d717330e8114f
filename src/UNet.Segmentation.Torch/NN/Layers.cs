namespace UNet.Segmentation.Torch.NN;

/// <summary>max(x, 0).</summary>
public sealed class ReLU : Module<Tensor, Tensor>
{
    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => input.Relu();
}

/// <summary>Dropout, active only in training mode.</summary>
public sealed class Dropout : Module<Tensor, Tensor>
{
    /// <summary>Creates the layer with drop probability <paramref name="p"/> in [0, 1).</summary>
    public Dropout(double p = 0.5)
    {
        if (p is < 0 or >= 1 || double.IsNaN(p)) throw new ArgumentOutOfRangeException(nameof(p), p, "dropout probability must lie in [0, 1)");
        P = p;
    }

    /// <summary>Drop probability.</summary>
    public double P { get; }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => IsTraining && P > 0 ? Functional.Dropout(input, P, training: true) : input.Alias();
}

/// <summary>2-D max pooling.</summary>
public sealed class MaxPool2d : Module<Tensor, Tensor>
{
    /// <summary>Creates the layer; the stride defaults to the kernel size.</summary>
    public MaxPool2d(Size2 kernelSize, Size2? stride = null, Size2? padding = null, Size2? dilation = null, bool ceilMode = false)
    {
        if (kernelSize.Height < 1 || kernelSize.Width < 1) throw new ArgumentOutOfRangeException(nameof(kernelSize), kernelSize, "kernel size must be positive");
        KernelSize = kernelSize;
        Stride = stride ?? kernelSize;
        Padding = padding ?? 0;
        Dilation = dilation ?? 1;
        CeilMode = ceilMode;
    }

    /// <summary>Window size.</summary>
    public Size2 KernelSize { get; }
    /// <summary>Stride.</summary>
    public Size2 Stride { get; }
    /// <summary>Implicit −∞ padding.</summary>
    public Size2 Padding { get; }
    /// <summary>Dilation.</summary>
    public Size2 Dilation { get; }
    /// <summary>Round the output size up instead of down.</summary>
    public bool CeilMode { get; }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => Functional.MaxPool2d(input, KernelSize, Stride, Padding, Dilation, CeilMode);
}

/// <summary>Batch normalisation over N×C×H×W with PyTorch's keys (weight, bias, running_mean, running_var, num_batches_tracked).</summary>
public sealed class BatchNorm2d : Module<Tensor, Tensor>
{
    /// <summary>Creates the layer for <paramref name="features"/> channels.</summary>
    public BatchNorm2d(long features, double eps = 1e-5, double momentum = 0.1, bool affine = true)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(features, 1);
        if (eps <= 0) throw new ArgumentOutOfRangeException(nameof(eps), eps, "eps must be positive");
        if (momentum is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(momentum), momentum, "momentum must lie in [0, 1]");
        Eps = eps;
        Momentum = momentum;
        using var scope = TensorScope.Begin();
        Weight = RegisterParameter("weight", affine ? new Parameter(Tensor.Ones([features])) : null);
        Bias = RegisterParameter("bias", affine ? new Parameter(Tensor.Zeros([features])) : null);
        RunningMean = RegisterBuffer("running_mean", Tensor.Zeros([features]));
        RunningVar = RegisterBuffer("running_var", Tensor.Ones([features]));
        BatchesTracked = RegisterBuffer("num_batches_tracked", Tensor.Scalar(0, ScalarType.Int64));
    }

    /// <summary>Scale, or null without affine.</summary>
    public Parameter? Weight { get; }
    /// <summary>Shift, or null without affine.</summary>
    public Parameter? Bias { get; }
    /// <summary>Running mean (a buffer).</summary>
    public Tensor RunningMean { get; }
    /// <summary>Running variance (a buffer).</summary>
    public Tensor RunningVar { get; }
    /// <summary>Training batches seen (a buffer).</summary>
    public Tensor BatchesTracked { get; }
    /// <summary>Added to the variance.</summary>
    public double Eps { get; }
    /// <summary>Weight of the newest batch in the running statistics.</summary>
    public double Momentum { get; }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        if (IsTraining)
            using (Autograd.NoGrad()) BatchesTracked.Add_(1);
        return Functional.BatchNorm(input, RunningMean, RunningVar, Weight, Bias, IsTraining, Momentum, Eps);
    }
}

/// <summary>Modules applied in order, named "0", "1", ... as torch.nn.Sequential.</summary>
public sealed class Sequential : Module<Tensor, Tensor>
{
    private readonly List<Module<Tensor, Tensor>> _layers = new();

    /// <summary>Creates the chain.</summary>
    public Sequential(params Module<Tensor, Tensor>[] layers)
    {
        ArgumentNullException.ThrowIfNull(layers);
        for (int i = 0; i < layers.Length; i++) _layers.Add(RegisterModule(i.ToString(System.Globalization.CultureInfo.InvariantCulture), layers[i]));
    }

    /// <summary>Number of layers.</summary>
    public int Count => _layers.Count;

    /// <summary>The layer at <paramref name="index"/>.</summary>
    public Module<Tensor, Tensor> this[int index] => _layers[index];

    /// <summary>Runs every layer; intermediates belong to the current scope.</summary>
    public override Tensor Forward(Tensor input)
    {
        var x = input;
        foreach (var layer in _layers) x = layer.Forward(x);
        return ReferenceEquals(x, input) ? input.Alias() : x;
    }
}
