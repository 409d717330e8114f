using UNet.Segmentation.Torch.Native;
using UNet.Segmentation.Torch.NN;
using static UNet.Segmentation.Torch.Native.NativeMethods;
using static UNet.Segmentation.Torch.Native.NativeStatus;

namespace UNet.Segmentation.Torch.Optim;

/// <summary>
/// Adam (Kingma and Ba), and AdamW with <see cref="DecoupledWeightDecay"/>: torch.optim.Adam's
/// arithmetic, every parameter updated in one native call. State: <c>exp_avg</c>, <c>exp_avg_sq</c>, step.
/// </summary>
public sealed class Adam : Optimizer
{
    private static readonly string[] Names = ["exp_avg", "exp_avg_sq"];
    private readonly Tensor[] _expAvg;
    private readonly Tensor[] _expAvgSq;
    private readonly long[] _steps;

    /// <summary>Creates the optimizer. Defaults are PyTorch's (ε 1e-8; the TensorFlow reference uses 1e-7).</summary>
    public Adam(IEnumerable<Parameter> parameters, double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
        double epsilon = 1e-8, double weightDecay = 0, bool decoupledWeightDecay = false)
        : base(parameters, learningRate)
    {
        if (!(beta1 >= 0 && beta1 < 1)) throw new ArgumentOutOfRangeException(nameof(beta1), beta1, "beta1 must lie in [0, 1)");
        if (!(beta2 >= 0 && beta2 < 1)) throw new ArgumentOutOfRangeException(nameof(beta2), beta2, "beta2 must lie in [0, 1)");
        if (!(epsilon >= 0)) throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "epsilon must be non-negative");
        if (!(weightDecay >= 0)) throw new ArgumentOutOfRangeException(nameof(weightDecay), weightDecay, "weight decay must be non-negative");
        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = epsilon;
        WeightDecay = weightDecay;
        DecoupledWeightDecay = decoupledWeightDecay;
        _expAvg = Parameters.Select(ZerosLike).ToArray();
        _expAvgSq = Parameters.Select(ZerosLike).ToArray();
        _steps = new long[Parameters.Count];
    }

    /// <summary>Decay of the first moment.</summary>
    public double Beta1 { get; }
    /// <summary>Decay of the second moment.</summary>
    public double Beta2 { get; }
    /// <summary>Added to the denominator.</summary>
    public double Epsilon { get; }
    /// <summary>L2 penalty (Adam) or decoupled decay (AdamW).</summary>
    public double WeightDecay { get; }
    /// <summary>True for AdamW: decay the weights directly instead of adding to the gradient.</summary>
    public bool DecoupledWeightDecay { get; }

    /// <inheritdoc />
    protected override IReadOnlyList<string> StateNames => Names;

    /// <inheritdoc />
    protected override Tensor StateTensor(int index, string name) => name == "exp_avg" ? _expAvg[index] : _expAvgSq[index];

    /// <inheritdoc />
    protected override long GetStep(int index) => _steps[index];

    /// <inheritdoc />
    protected override void SetStep(int index, long step) => _steps[index] = step;

    /// <inheritdoc />
    protected override unsafe void StepCore()
    {
        using var p = new HandleArrayLease(Parameters);
        using var m = new HandleArrayLease(_expAvg);
        using var v = new HandleArrayLease(_expAvgSq);
        fixed (IntPtr* pp = p.Values, pm = m.Values, pv = v.Values)
        fixed (long* ps = _steps)
            Check(uts_adam_step(pp, pm, pv, ps, p.Values.Length, LearningRate, Beta1, Beta2, Epsilon, WeightDecay, DecoupledWeightDecay ? (byte)1 : (byte)0));
    }
}
