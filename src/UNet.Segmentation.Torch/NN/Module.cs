namespace UNet.Segmentation.Torch.NN;

/// <summary>
/// A network part with named children, parameters and buffers, whose dotted names
/// (<c>encoder.0.conv1.weight</c>) are the state-dict keys PyTorch would use. Owns its
/// parameters and buffers: disposing the module disposes them.
/// </summary>
public abstract class Module : IDisposable
{
    private readonly List<(string Name, Module Module)> _children = new();
    private readonly List<(string Name, Parameter? Parameter)> _parameters = new();
    private readonly List<(string Name, Tensor? Buffer)> _buffers = new();
    private bool _disposed;

    /// <summary>True in training mode (dropout active, batch norm updating its statistics).</summary>
    public bool IsTraining { get; private set; } = true;

    /// <summary>Registers a child module under <paramref name="name"/>.</summary>
    protected T RegisterModule<T>(string name, T module) where T : Module
    {
        ArgumentNullException.ThrowIfNull(module);
        CheckName(name);
        _children.Add((name, module));
        return module;
    }

    /// <summary>Registers a parameter (null: declared but absent, like a disabled bias).</summary>
    protected Parameter? RegisterParameter(string name, Parameter? parameter)
    {
        CheckName(name);
        _parameters.Add((name, parameter));
        return parameter;
    }

    /// <summary>Registers a buffer: state that is saved but not trained (running statistics). The module takes ownership.</summary>
    protected Tensor RegisterBuffer(string name, Tensor buffer)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        CheckName(name);
        buffer.DetachFromScope();
        _buffers.Add((name, buffer));
        return buffer;
    }

    private void CheckName(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (name.Contains('.')) throw new ArgumentException($"'{name}' contains a dot; dots separate levels of the hierarchy", nameof(name));
        if (_children.Any(c => c.Name == name) || _parameters.Any(p => p.Name == name) || _buffers.Any(b => b.Name == name))
            throw new ArgumentException($"'{name}' is already registered in {GetType().Name}", nameof(name));
    }

    /// <summary>Direct children with their names.</summary>
    public IEnumerable<(string Name, Module Module)> NamedChildren() => _children;

    /// <summary>This module and every descendant, with dotted names ("" for this one).</summary>
    public IEnumerable<(string Name, Module Module)> NamedModules(string prefix = "")
    {
        yield return (prefix, this);
        foreach (var (name, child) in _children)
            foreach (var m in child.NamedModules(Join(prefix, name)))
                yield return m;
    }

    /// <summary>Every parameter of this module and its descendants, in registration order.</summary>
    public IEnumerable<(string Name, Parameter Parameter)> NamedParameters()
    {
        foreach (var (prefix, module) in NamedModules())
            foreach (var (name, p) in module._parameters)
                if (p is not null) yield return (Join(prefix, name), p);
    }

    /// <summary>Every parameter, in registration order.</summary>
    public IReadOnlyList<Parameter> Parameters() => NamedParameters().Select(p => p.Parameter).ToList();

    /// <summary>Every buffer of this module and its descendants.</summary>
    public IEnumerable<(string Name, Tensor Buffer)> NamedBuffers()
    {
        foreach (var (prefix, module) in NamedModules())
            foreach (var (name, b) in module._buffers)
                if (b is not null) yield return (Join(prefix, name), b);
    }

    /// <summary>Total number of parameter elements.</summary>
    public long ParameterCount => NamedParameters().Sum(p => p.Parameter.NumberOfElements);

    /// <summary>Sets training mode on this module and every descendant.</summary>
    public Module Train(bool training = true)
    {
        foreach (var (_, m) in NamedModules()) m.IsTraining = training;
        return this;
    }

    /// <summary>Sets evaluation mode (same as <c>Train(false)</c>).</summary>
    public Module Eval() => Train(false);

    /// <summary>Drops (or zeroes) every parameter's gradient in one native call.</summary>
    public void ZeroGrad(bool setToNone = true) => Autograd.ZeroGrad(Parameters(), setToNone);

    /// <summary>
    /// Moves or converts parameters and buffers in place (the <see cref="Parameter"/> objects
    /// stay the same, so optimizers made afterwards see them): floating-point tensors take
    /// <paramref name="dtype"/>, every tensor goes to <paramref name="device"/>, 4-D tensors take
    /// <paramref name="memoryFormat"/>. Create optimizers after moving.
    /// </summary>
    public Module To(Device? device = null, ScalarType? dtype = null, MemoryFormat? memoryFormat = null)
    {
        if (dtype is { } d && !d.IsFloatingPoint()) throw new ArgumentException($"modules convert to floating-point types only, not {d}", nameof(dtype));
        foreach (var (_, module) in NamedModules())
        {
            for (int i = 0; i < module._parameters.Count; i++)
                if (module._parameters[i].Parameter is { } p) Convert(p, device, dtype, memoryFormat, keepGrad: true);
            for (int i = 0; i < module._buffers.Count; i++)
                if (module._buffers[i].Buffer is { } b) Convert(b, device, dtype, memoryFormat, keepGrad: false);
        }
        return this;
    }

    private static void Convert(Tensor t, Device? device, ScalarType? dtype, MemoryFormat? format, bool keepGrad)
    {
        var targetType = dtype is { } d && t.Dtype.IsFloatingPoint() ? d : (ScalarType?)null;
        var targetFormat = format is { } f && t.Dim == 4 ? f : (MemoryFormat?)null;
        bool requiresGrad = keepGrad && t.RequiresGrad;
        using var _ = Autograd.NoGrad();
        var converted = t.To(targetType, device, targetFormat, copy: false);
        if (converted.SharesStorageWith(t) && targetFormat is null)
        {
            converted.Dispose();
            return;
        }
        // Keep the same managed object (optimizers and callers hold it); give it the new data.
        using var detached = converted.Detach();
        converted.Dispose();
        var fresh = new Parameter(detached, requiresGrad);
        t.ReplaceHandle(fresh);
    }

    /// <summary>Parameters then buffers, by dotted name, as live tensors owned by the module (do not dispose them).</summary>
    public OrderedDictionary<string, Tensor> StateDict()
    {
        var dict = new OrderedDictionary<string, Tensor>();
        foreach (var (name, p) in NamedParameters()) dict.Add(name, p);
        foreach (var (name, b) in NamedBuffers()) dict.Add(name, b);
        return dict;
    }

    /// <summary>
    /// Copies values from <paramref name="stateDict"/> into the module's tensors (converting dtype
    /// and device as needed). With <paramref name="strict"/>, any missing or unexpected key fails;
    /// a shape mismatch always fails. Nothing is copied unless every check passes.
    /// </summary>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> stateDict, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        var own = StateDict();
        var missing = own.Keys.Where(k => !stateDict.ContainsKey(k)).ToList();
        var unexpected = stateDict.Keys.Where(k => !own.ContainsKey(k)).ToList();
        var mismatched = new List<string>();
        foreach (var (name, target) in own)
        {
            if (!stateDict.TryGetValue(name, out var source)) continue;
            var want = target.Shape;
            var got = source.Shape;
            if (!want.SequenceEqual(got))
                mismatched.Add($"{name}: expected shape [{string.Join(", ", want)}], got [{string.Join(", ", got)}]");
            else if (target.Dtype.IsFloatingPoint() != source.Dtype.IsFloatingPoint())
                mismatched.Add($"{name}: expected a {(target.Dtype.IsFloatingPoint() ? "floating-point" : "integer")} tensor, got {source.Dtype}");
        }
        if (mismatched.Count > 0 || (strict && (missing.Count > 0 || unexpected.Count > 0)))
            throw new StateDictMismatchException(GetType().Name, strict ? missing : [], strict ? unexpected : [], mismatched);

        using var _ = Autograd.NoGrad();
        foreach (var (name, target) in own)
            if (stateDict.TryGetValue(name, out var source)) target.CopyFrom_(source);
    }

    /// <summary>Disposes every parameter and buffer of this module and its descendants.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var (_, p) in _parameters) p?.Dispose();
        foreach (var (_, b) in _buffers) b?.Dispose();
        foreach (var (_, c) in _children) c.Dispose();
        GC.SuppressFinalize(this);
    }

    private static string Join(string prefix, string name) => prefix.Length == 0 ? name : prefix + "." + name;
}

/// <summary>A module with a typed forward pass.</summary>
public abstract class Module<TInput, TOutput> : Module
{
    /// <summary>Computes the output.</summary>
    public abstract TOutput Forward(TInput input);

    /// <summary>Same as <see cref="Forward"/>.</summary>
    public TOutput Call(TInput input) => Forward(input);
}
