namespace UNet.Segmentation.Torch.NN;

/// <summary>An indexed list of child modules named "0", "1", ... as torch.nn.ModuleList; it has no forward of its own.</summary>
public sealed class ModuleList<T> : Module where T : Module
{
    private readonly List<T> _items = new();

    /// <summary>Creates the list.</summary>
    public ModuleList(IEnumerable<T> modules)
    {
        ArgumentNullException.ThrowIfNull(modules);
        foreach (var m in modules) _items.Add(RegisterModule(_items.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), m));
    }

    /// <summary>Number of modules.</summary>
    public int Count => _items.Count;

    /// <summary>The module at <paramref name="index"/>.</summary>
    public T this[int index] => _items[index];

    /// <summary>The modules in order.</summary>
    public IReadOnlyList<T> Items => _items;
}
