namespace UNet.Segmentation.Model;

/// <summary>A state dict that does not fit its module or optimizer, with every problem listed.</summary>
public sealed class StateDictMismatchException : Exception
{
    /// <summary>Creates the exception from the three lists of problems.</summary>
    public StateDictMismatchException(string owner, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected, IReadOnlyList<string> mismatched)
        : base(Describe(owner, missing, unexpected, mismatched))
    {
        Missing = missing;
        Unexpected = unexpected;
        Mismatched = mismatched;
    }

    /// <summary>Keys the owner has and the state dict lacks.</summary>
    public IReadOnlyList<string> Missing { get; }

    /// <summary>Keys the state dict has and the owner lacks.</summary>
    public IReadOnlyList<string> Unexpected { get; }

    /// <summary>"key: expected [..] got [..]" for every shape or dtype that differs.</summary>
    public IReadOnlyList<string> Mismatched { get; }

    private static string Describe(string owner, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected, IReadOnlyList<string> mismatched)
    {
        var parts = new List<string>();
        if (missing.Count > 0) parts.Add($"missing keys: {string.Join(", ", missing)}");
        if (unexpected.Count > 0) parts.Add($"unexpected keys: {string.Join(", ", unexpected)}");
        if (mismatched.Count > 0) parts.Add($"mismatched: {string.Join("; ", mismatched)}");
        return $"The state dict does not fit {owner}: {string.Join(" | ", parts)}";
    }
}
