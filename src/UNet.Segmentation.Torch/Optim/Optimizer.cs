using UNet.Segmentation.Torch.NN;

namespace UNet.Segmentation.Torch.Optim;

/// <summary>
/// Base of the optimizers: holds the parameters and per-parameter state tensors, steps every
/// parameter in one native call, and exposes its state as tensors (<c>state.{i}.{name}</c>)
/// for checkpoints.
/// </summary>
public abstract class Optimizer : IDisposable
{
    private readonly Parameter[] _parameters;
    private double _learningRate;
    private bool _disposed;

    /// <summary>Takes the parameters to optimise; the list must be non-empty and without duplicates.</summary>
    protected Optimizer(IEnumerable<Parameter> parameters, double learningRate)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        _parameters = parameters.ToArray();
        if (_parameters.Length == 0) throw new ArgumentException("an optimizer needs at least one parameter", nameof(parameters));
        if (_parameters.Distinct().Count() != _parameters.Length) throw new ArgumentException("a parameter appears twice", nameof(parameters));
        LearningRate = learningRate;
    }

    /// <summary>The parameters, in the order their state is numbered.</summary>
    public IReadOnlyList<Parameter> Parameters => _parameters;

    /// <summary>The learning rate of the next step (set it from a schedule between steps).</summary>
    public double LearningRate
    {
        get => _learningRate;
        set
        {
            if (!(value >= 0) || double.IsInfinity(value)) throw new ArgumentOutOfRangeException(nameof(value), value, "learning rate must be a finite non-negative number");
            _learningRate = value;
        }
    }

    /// <summary>Applies one update to every parameter that has a gradient.</summary>
    public void Step()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        foreach (var p in _parameters)
            if (p.IsDisposed) throw new ObjectDisposedException(nameof(Parameter), "a parameter of this optimizer was disposed");
        StepCore();
        GC.KeepAlive(_parameters);
    }

    /// <summary>Runs the native update.</summary>
    protected abstract void StepCore();

    /// <summary>Drops (or zeroes) the gradients of every parameter.</summary>
    public void ZeroGrad(bool setToNone = true) => Autograd.ZeroGrad(_parameters, setToNone);

    /// <summary>The names of the per-parameter state tensors, e.g. exp_avg.</summary>
    protected abstract IReadOnlyList<string> StateNames { get; }

    /// <summary>The state tensor <paramref name="name"/> of parameter <paramref name="index"/>.</summary>
    protected abstract Tensor StateTensor(int index, string name);

    /// <summary>The per-parameter step counter (the number of updates applied).</summary>
    protected abstract long GetStep(int index);

    /// <summary>Sets the per-parameter step counter.</summary>
    protected abstract void SetStep(int index, long step);

    /// <summary>
    /// The state as tensors: <c>state.{i}.{name}</c> are the live state tensors (owned by the
    /// optimizer: do not dispose them); <c>state.{i}.step</c> are new int64 scalars owned by the
    /// current scope.
    /// </summary>
    public OrderedDictionary<string, Tensor> StateDict()
    {
        var dict = new OrderedDictionary<string, Tensor>();
        for (int i = 0; i < _parameters.Length; i++)
        {
            foreach (var name in StateNames) dict.Add($"state.{i}.{name}", StateTensor(i, name));
            dict.Add($"state.{i}.step", Tensor.Scalar(GetStep(i), ScalarType.Int64));
        }
        return dict;
    }

    /// <summary>Restores state saved by <see cref="StateDict"/>; every key must be present with the right shape, and nothing changes unless all fit.</summary>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> stateDict)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        var missing = new List<string>();
        var mismatched = new List<string>();
        var expected = new HashSet<string>();
        for (int i = 0; i < _parameters.Length; i++)
        {
            foreach (var name in StateNames.Append("step"))
            {
                string key = $"state.{i}.{name}";
                expected.Add(key);
                if (!stateDict.TryGetValue(key, out var source)) { missing.Add(key); continue; }
                long[] want = name == "step" ? [] : StateTensor(i, name).Shape;
                long[] got = source.Shape;
                if (!want.SequenceEqual(got))
                    mismatched.Add($"{key}: expected shape [{string.Join(", ", want)}], got [{string.Join(", ", got)}]");
            }
        }
        var unexpected = stateDict.Keys.Where(k => !expected.Contains(k)).ToList();
        if (missing.Count > 0 || unexpected.Count > 0 || mismatched.Count > 0)
            throw new StateDictMismatchException(GetType().Name, missing, unexpected, mismatched);

        using var _ = Autograd.NoGrad();
        for (int i = 0; i < _parameters.Length; i++)
        {
            foreach (var name in StateNames) StateTensor(i, name).CopyFrom_(stateDict[$"state.{i}.{name}"]);
            SetStep(i, stateDict[$"state.{i}.step"].ToInt64());
        }
    }

    /// <summary>Disposes the state tensors (not the parameters).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        for (int i = 0; i < _parameters.Length; i++)
            foreach (var name in StateNames) StateTensor(i, name).Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>A state tensor shaped, typed and laid out like the parameter, zero-filled, owned by the optimizer.</summary>
    protected static Tensor ZerosLike(Parameter parameter)
    {
        using var _ = Autograd.NoGrad();
        using var detached = parameter.Detach();
        return detached.ZerosLike().DetachFromScope();
    }

}
