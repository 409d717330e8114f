namespace UNet.Segmentation.Scoring;

/// <summary>
/// Dice of label maps (flat arrays of class indices, any dimension), per class and per region.
/// Dice = 2·|P ∩ T| / (|P| + |T|). Empty-empty convention, the reference's (NVIDIA nnUNet's
/// <c>metrics.Dice</c>): where the truth has no voxel of the class or region, the score is 1 if
/// the prediction has none either, else 0.
/// </summary>
public static class VolumeDice
{
    /// <summary>Dice of the voxels for which <paramref name="member"/> holds.</summary>
    /// <exception cref="ArgumentException">The two maps differ in length.</exception>
    public static double Of(ReadOnlySpan<byte> prediction, ReadOnlySpan<byte> truth, Func<int, bool> member)
    {
        ArgumentNullException.ThrowIfNull(member);
        if (prediction.Length != truth.Length)
            throw new ArgumentException($"the prediction has {prediction.Length} voxels, the truth {truth.Length}", nameof(prediction));
        Span<bool> inside = stackalloc bool[256];
        for (int v = 0; v < 256; v++) inside[v] = member(v);
        long both = 0, predicted = 0, actual = 0;
        for (int i = 0; i < prediction.Length; i++)
        {
            bool p = inside[prediction[i]], t = inside[truth[i]];
            if (p) predicted++;
            if (t) actual++;
            if (p && t) both++;
        }
        if (actual == 0) return predicted == 0 ? 1 : 0;
        return 2.0 * both / (predicted + actual);
    }

    /// <summary>Dice of classes 1 … <paramref name="classes"/> − 1 (index 0 is class 1; the background is not scored).</summary>
    /// <exception cref="ArgumentOutOfRangeException">Fewer than 2 classes.</exception>
    public static double[] PerClass(ReadOnlySpan<byte> prediction, ReadOnlySpan<byte> truth, int classes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 2);
        var scores = new double[classes - 1];
        for (int c = 1; c < classes; c++)
        {
            int k = c;
            scores[c - 1] = Of(prediction, truth, v => v == k);
        }
        return scores;
    }

    /// <summary>Dice of each region, in order.</summary>
    /// <exception cref="ArgumentException">A region has no label.</exception>
    public static double[] PerRegion(ReadOnlySpan<byte> prediction, ReadOnlySpan<byte> truth, IReadOnlyList<DiceRegion> regions)
    {
        ArgumentNullException.ThrowIfNull(regions);
        var scores = new double[regions.Count];
        for (int r = 0; r < regions.Count; r++)
        {
            var region = regions[r];
            if (region.Labels is null || region.Labels.Count == 0)
                throw new ArgumentException($"the region '{region.Name}' has no label", nameof(regions));
            scores[r] = Of(prediction, truth, region.Contains);
        }
        return scores;
    }
}
