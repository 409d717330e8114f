namespace UNet.Segmentation.Torch.NN;

/// <summary>Which fan Kaiming initialisation preserves.</summary>
public enum FanMode
{
    /// <summary>Preserve the variance of activations in the forward pass.</summary>
    FanIn,
    /// <summary>Preserve the variance of gradients in the backward pass.</summary>
    FanOut,
}

/// <summary>Non-linearities for <see cref="Init.Gain"/>.</summary>
public enum Nonlinearity
{
    /// <summary>Identity, convolutions and sigmoid: gain 1.</summary>
    Linear,
    /// <summary>tanh: gain 5/3.</summary>
    Tanh,
    /// <summary>ReLU: gain √2.</summary>
    Relu,
    /// <summary>Leaky ReLU with slope a: gain √(2 / (1 + a²)).</summary>
    LeakyRelu,
}

/// <summary>Weight initialisers with torch.nn.init's formulas. Each fills in place without recording a graph and returns the tensor.</summary>
public static class Init
{
    /// <summary>The recommended gain for a non-linearity.</summary>
    public static double Gain(Nonlinearity nonlinearity, double negativeSlope = 0.01) => nonlinearity switch
    {
        Nonlinearity.Linear => 1.0,
        Nonlinearity.Tanh => 5.0 / 3.0,
        Nonlinearity.Relu => Math.Sqrt(2.0),
        Nonlinearity.LeakyRelu => Math.Sqrt(2.0 / (1 + negativeSlope * negativeSlope)),
        _ => throw new ArgumentOutOfRangeException(nameof(nonlinearity), nonlinearity, null),
    };

    /// <summary>(fan_in, fan_out): dim 1 and dim 0 times the receptive field, as PyTorch computes them (also for transposed-conv weights).</summary>
    public static (long FanIn, long FanOut) Fans(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        Span<long> shape = stackalloc long[16];
        int n = tensor.GetShape(shape);
        if (n < 2) throw new ArgumentException("fan in and fan out need a tensor of at least 2 dimensions", nameof(tensor));
        long receptive = 1;
        for (int i = 2; i < n; i++) receptive *= shape[i];
        return (shape[1] * receptive, shape[0] * receptive);
    }

    /// <summary>U(−b, b) with b = gain·√(6 / (fan_in + fan_out)) (Glorot uniform, TensorFlow's default).</summary>
    public static Tensor XavierUniform_(Tensor tensor, double gain = 1.0)
    {
        var (fanIn, fanOut) = Fans(tensor);
        double bound = gain * Math.Sqrt(6.0 / (fanIn + fanOut));
        return Uniform_(tensor, -bound, bound);
    }

    /// <summary>N(0, σ²) with σ = gain·√(2 / (fan_in + fan_out)).</summary>
    public static Tensor XavierNormal_(Tensor tensor, double gain = 1.0)
    {
        var (fanIn, fanOut) = Fans(tensor);
        return Normal_(tensor, 0, gain * Math.Sqrt(2.0 / (fanIn + fanOut)));
    }

    /// <summary>U(−b, b) with b = gain·√(3 / fan) (He uniform).</summary>
    public static Tensor KaimingUniform_(Tensor tensor, double a = 0, FanMode mode = FanMode.FanIn, Nonlinearity nonlinearity = Nonlinearity.LeakyRelu)
    {
        double std = Gain(nonlinearity, a) / Math.Sqrt(Fan(tensor, mode));
        double bound = Math.Sqrt(3.0) * std;
        return Uniform_(tensor, -bound, bound);
    }

    /// <summary>N(0, σ²) with σ = gain / √fan (He normal).</summary>
    public static Tensor KaimingNormal_(Tensor tensor, double a = 0, FanMode mode = FanMode.FanIn, Nonlinearity nonlinearity = Nonlinearity.LeakyRelu) =>
        Normal_(tensor, 0, Gain(nonlinearity, a) / Math.Sqrt(Fan(tensor, mode)));

    /// <summary>U(low, high).</summary>
    public static Tensor Uniform_(Tensor tensor, double low, double high)
    {
        using var _ = Autograd.NoGrad();
        return tensor.Uniform_(low, high);
    }

    /// <summary>N(mean, std²).</summary>
    public static Tensor Normal_(Tensor tensor, double mean, double std)
    {
        using var _ = Autograd.NoGrad();
        return tensor.Normal_(mean, std);
    }

    /// <summary>A constant.</summary>
    public static Tensor Constant_(Tensor tensor, double value)
    {
        using var _ = Autograd.NoGrad();
        return tensor.Fill_(value);
    }

    /// <summary>Zeros.</summary>
    public static Tensor Zeros_(Tensor tensor) => Constant_(tensor, 0);

    /// <summary>Ones.</summary>
    public static Tensor Ones_(Tensor tensor) => Constant_(tensor, 1);

    private static long Fan(Tensor tensor, FanMode mode)
    {
        var (fanIn, fanOut) = Fans(tensor);
        long fan = mode == FanMode.FanIn ? fanIn : fanOut;
        return fan > 0 ? fan : throw new ArgumentException("the tensor has a zero fan", nameof(tensor));
    }
}
