using UNet.Segmentation.Torch.Native;
using UNet.Segmentation.Torch.NN;
using static UNet.Segmentation.Torch.Native.NativeMethods;
using static UNet.Segmentation.Torch.Native.NativeStatus;

namespace UNet.Segmentation.Torch.Optim;

/// <summary>Stochastic gradient descent with optional (Nesterov) momentum and L2 weight decay: torch.optim.SGD's arithmetic. State: <c>momentum_buffer</c>, step.</summary>
public sealed class Sgd : Optimizer
{
    private static readonly string[] Names = ["momentum_buffer"];
    private static readonly string[] NoNames = [];
    private readonly Tensor[] _buffers;
    private readonly byte[] _initialized;
    private readonly long[] _steps;

    /// <summary>Creates the optimizer; Nesterov needs momentum and zero dampening.</summary>
    public Sgd(IEnumerable<Parameter> parameters, double learningRate, double momentum = 0, double dampening = 0, double weightDecay = 0, bool nesterov = false)
        : base(parameters, learningRate)
    {
        if (!(momentum >= 0)) throw new ArgumentOutOfRangeException(nameof(momentum), momentum, "momentum must be non-negative");
        if (!(weightDecay >= 0)) throw new ArgumentOutOfRangeException(nameof(weightDecay), weightDecay, "weight decay must be non-negative");
        if (nesterov && (momentum <= 0 || dampening != 0)) throw new ArgumentException("Nesterov momentum needs momentum > 0 and zero dampening", nameof(nesterov));
        Momentum = momentum;
        Dampening = dampening;
        WeightDecay = weightDecay;
        Nesterov = nesterov;
        _buffers = momentum != 0 ? Parameters.Select(ZerosLike).ToArray() : [];
        _initialized = new byte[Parameters.Count];
        _steps = new long[Parameters.Count];
    }

    /// <summary>Momentum factor.</summary>
    public double Momentum { get; }
    /// <summary>Dampening of the momentum.</summary>
    public double Dampening { get; }
    /// <summary>L2 penalty.</summary>
    public double WeightDecay { get; }
    /// <summary>Nesterov momentum.</summary>
    public bool Nesterov { get; }

    /// <inheritdoc />
    protected override IReadOnlyList<string> StateNames => Momentum != 0 ? Names : NoNames;

    /// <inheritdoc />
    protected override Tensor StateTensor(int index, string name) => _buffers[index];

    /// <inheritdoc />
    protected override long GetStep(int index) => _steps[index];

    /// <inheritdoc />
    protected override void SetStep(int index, long step)
    {
        _steps[index] = step;
        _initialized[index] = step > 0 ? (byte)1 : (byte)0;
    }

    /// <inheritdoc />
    protected override unsafe void StepCore()
    {
        using var p = new HandleArrayLease(Parameters);
        using var b = new HandleArrayLease(Momentum != 0 ? _buffers : []);
        var buffers = Momentum != 0 ? b.Values : new IntPtr[p.Values.Length];
        fixed (IntPtr* pp = p.Values, pb = buffers)
        fixed (byte* pi = _initialized)
        fixed (long* ps = _steps)
            Check(uts_sgd_step(pp, pb, pi, ps, p.Values.Length, LearningRate, Momentum, Dampening, WeightDecay, Nesterov ? (byte)1 : (byte)0));
    }
}
