namespace UNet.Segmentation.Data.Msd;

/// <summary>
/// The intensity statistics a CT task is normalised with, as the reference collects them: over
/// the foreground voxels (label &gt; 0) of every training image, before cropping or resampling,
/// the 0.5th and 99.5th percentiles (NumPy's linear interpolation) to clip to, and the mean and
/// (population) standard deviation of the unclipped values to z-score with.
/// </summary>
/// <param name="Min">The 0.5th percentile: values below are clipped to it.</param>
/// <param name="Max">The 99.5th percentile: values above are clipped to it.</param>
/// <param name="Mean">The mean of the foreground values.</param>
/// <param name="Std">Their standard deviation (divided by n).</param>
public sealed record CtStatistics(double Min, double Max, double Mean, double Std)
{
    /// <summary>The statistics of <paramref name="foreground"/>, every foreground value of every training case.</summary>
    /// <exception cref="ArgumentException">No values, or a zero standard deviation.</exception>
    public static CtStatistics FromValues(IReadOnlyList<float> foreground)
    {
        ArgumentNullException.ThrowIfNull(foreground);
        if (foreground.Count == 0) throw new ArgumentException("no foreground voxels to take CT statistics from", nameof(foreground));
        var sorted = foreground.Select(v => (double)v).ToArray();
        Array.Sort(sorted);
        double mean = sorted.Sum() / sorted.Length;
        double variance = 0;
        foreach (double v in sorted) variance += (v - mean) * (v - mean);
        double std = Math.Sqrt(variance / sorted.Length);
        if (std == 0) throw new ArgumentException("the foreground intensities are all equal; a CT z-score needs spread", nameof(foreground));
        return new CtStatistics(Percentile(sorted, 0.5), Percentile(sorted, 99.5), mean, std);
    }

    /// <summary>NumPy's <c>percentile(a, q)</c> (linear interpolation) of ascending <paramref name="sorted"/>.</summary>
    public static double Percentile(IReadOnlyList<double> sorted, double q)
    {
        ArgumentNullException.ThrowIfNull(sorted);
        if (sorted.Count == 0) throw new ArgumentException("no values", nameof(sorted));
        if (q is < 0 or > 100) throw new ArgumentOutOfRangeException(nameof(q), q, "a percentile lies in [0, 100]");
        double h = (sorted.Count - 1) * (q / 100);
        int lo = (int)Math.Floor(h);
        if (lo >= sorted.Count - 1) return sorted[^1];
        double t = h - lo, a = sorted[lo], b = sorted[lo + 1];
        return t >= 0.5 ? b - (b - a) * (1 - t) : a + (b - a) * t; // numpy's _lerp
    }
}
