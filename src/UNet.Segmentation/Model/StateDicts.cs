using static TorchSharp.torch;

namespace UNet.Segmentation.Model;

/// <summary>Strict state-dict loading with every problem named at once (TorchSharp's own stops at the first).</summary>
public static class StateDicts
{
    /// <summary>
    /// Copies <paramref name="stateDict"/>'s tensors into <paramref name="module"/>'s parameters
    /// and buffers (values converted to their dtype and device). Throws
    /// <see cref="StateDictMismatchException"/> listing every missing, unexpected or mismatched
    /// key before anything is copied, so a failed load leaves the module as it was.
    /// </summary>
    public static void LoadInto(nn.Module module, IReadOnlyDictionary<string, Tensor> stateDict, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(stateDict);
        var own = module.state_dict();
        var missing = own.Keys.Where(k => !stateDict.ContainsKey(k)).ToList();
        var unexpected = stateDict.Keys.Where(k => !own.ContainsKey(k)).ToList();
        var mismatched = new List<string>();
        foreach (var (name, target) in own)
        {
            if (!stateDict.TryGetValue(name, out var source)) continue;
            if (!target.shape.SequenceEqual(source.shape))
                mismatched.Add($"{name}: expected shape [{string.Join(", ", target.shape)}], got [{string.Join(", ", source.shape)}]");
            else if (target.is_floating_point() != source.is_floating_point())
                mismatched.Add($"{name}: expected a {(target.is_floating_point() ? "floating-point" : "integer")} tensor, got {source.dtype}");
        }
        if (mismatched.Count > 0 || (strict && (missing.Count > 0 || unexpected.Count > 0)))
            throw new StateDictMismatchException(module.GetType().Name, strict ? missing : [], strict ? unexpected : [], mismatched);
        using var noGrad = no_grad();
        foreach (var (name, target) in own)
            if (stateDict.TryGetValue(name, out var source)) target.copy_(source);
    }
}
