using UNet.Segmentation.Scoring;

namespace UNet.Segmentation.Inference;

/// <summary>
/// An optional post-processing of two-class probability maps (off unless
/// <see cref="PredictionOptions.PostProcessing"/> is set): the cell-interior segments — 4-connected
/// pixels whose interior probability is at least <see cref="Threshold"/>, the connectivity of the
/// challenge's scores — smaller than <see cref="MinPixels"/> are made membrane (interior
/// probability 0, membrane 1). Such specks are mostly noise inside membranes, and each one counts
/// as a false cell in V_rand and V_info. The larger segments, and every other pixel, are left as
/// they were.
/// </summary>
/// <param name="MinPixels">Segments of fewer pixels than this are removed; at least 1 (1 removes nothing).</param>
/// <param name="Threshold">Where a pixel counts as interior, in (0, 1].</param>
public sealed record SmallSegmentRemoval(int MinPixels, double Threshold = 0.5)
{
    /// <summary>Every problem with these values, each naming the value; empty when usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (MinPixels < 1) problems.Add($"{nameof(PredictionOptions.PostProcessing)}.{nameof(MinPixels)} must be at least 1 (got {MinPixels})");
        if (!(Threshold > 0 && Threshold <= 1)) problems.Add($"{nameof(PredictionOptions.PostProcessing)}.{nameof(Threshold)} must lie in (0, 1] (got {Threshold})");
        return problems;
    }

    /// <summary>Removes the small interior segments of page <paramref name="index"/> of <paramref name="maps"/> (two channels: membrane, interior); returns the pixels changed.</summary>
    /// <exception cref="ArgumentException">The maps do not have two channels.</exception>
    public long Apply(FloatImages maps, int index)
    {
        ArgumentNullException.ThrowIfNull(maps);
        if (maps.Channels != 2) throw new ArgumentException($"small-segment removal needs two-class maps (membrane, interior); these have {maps.Channels} channels", nameof(maps));
        var interior = maps.Plane(index, 1);
        var membrane = maps.Plane(index, 0);
        var removed = Apply(interior, maps.Height, maps.Width);
        foreach (int j in removed) membrane[j] = 1f;
        return removed.Count;
    }

    /// <summary>Removes the small interior segments of one interior-probability page in place; returns the pixels set to 0.</summary>
    public List<int> Apply(Span<float> interior, int height, int width)
    {
        if (interior.Length != (long)height * width)
            throw new ArgumentException($"{interior.Length} probabilities for a {height}x{width} page", nameof(interior));
        int area = interior.Length;
        var foreground = new byte[area];
        float threshold = (float)Threshold;
        for (int j = 0; j < area; j++) foreground[j] = interior[j] >= threshold ? (byte)1 : (byte)0;
        var labels = new int[area];
        int count = ConnectedComponents.Label(foreground, 1, height, width, labels);
        var sizes = new int[count + 1];
        foreach (int label in labels) sizes[label]++;
        var removed = new List<int>();
        for (int j = 0; j < area; j++)
        {
            int label = labels[j];
            if (label == 0 || sizes[label] >= MinPixels) continue;
            interior[j] = 0f;
            removed.Add(j);
        }
        return removed;
    }
}
