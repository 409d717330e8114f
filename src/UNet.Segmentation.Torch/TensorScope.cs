namespace UNet.Segmentation.Torch;

/// <summary>
/// Deterministic disposal: every tensor created on this thread while the scope is the innermost
/// one is disposed with the scope, except those moved out with <see cref="MoveToOuter{T}"/> or
/// <see cref="Tensor.DetachFromScope"/>. Scopes nest, belong to the thread that began them and
/// must be disposed in reverse order (a <c>using</c> does both).
/// </summary>
/// <example><code>
/// using var scope = TensorScope.Begin();
/// var y = x * 2 + 1;            // both temporaries die with the scope
/// return scope.MoveToOuter(y);  // y survives, owned by the enclosing scope (or by the caller)
/// </code></example>
/// <remarks>Scopes are per thread and do not follow <c>async</c> continuations to other threads:
/// keep training loops synchronous on one thread.</remarks>
public sealed class TensorScope : IDisposable
{
    [ThreadStatic] private static TensorScope? _current;
    private readonly List<Tensor> _owned = new();
    private readonly TensorScope? _parent;
    private readonly int _threadId;
    private bool _disposed;

    private TensorScope(TensorScope? parent)
    {
        _parent = parent;
        _threadId = Environment.CurrentManagedThreadId;
    }

    /// <summary>The innermost open scope of this thread, or null.</summary>
    public static TensorScope? Current => _current;

    /// <summary>Opens a scope nested in the current one.</summary>
    public static TensorScope Begin() => _current = new TensorScope(_current);

    /// <summary>How many tensors this scope still owns.</summary>
    public int Count => _owned.Count(t => t.Scope == this);

    internal static void Track(Tensor tensor)
    {
        var scope = _current;
        if (scope is null) return;
        scope._owned.Add(tensor);
        tensor.Scope = scope;
    }

    /// <summary>Hands the tensor to the enclosing scope, or to the caller when there is none.</summary>
    public T MoveToOuter<T>(T tensor) where T : Tensor
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.Scope != this) throw new ArgumentException("the tensor is not owned by this scope", nameof(tensor));
        tensor.Scope = null;
        if (_parent is not null)
        {
            _parent._owned.Add(tensor);
            tensor.Scope = _parent;
        }
        return tensor;
    }

    /// <summary>Disposes every tensor the scope still owns and makes the enclosing scope current.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        if (Environment.CurrentManagedThreadId != _threadId)
            throw new InvalidOperationException("a TensorScope must be disposed on the thread that began it");
        if (_current != this)
            throw new InvalidOperationException("TensorScopes must be disposed innermost first");
        _disposed = true;
        _current = _parent;
        foreach (var tensor in _owned)
            if (tensor.Scope == this) tensor.Dispose();
        _owned.Clear();
    }
}
