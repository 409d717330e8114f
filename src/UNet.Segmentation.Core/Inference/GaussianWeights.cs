namespace UNet.Segmentation.Inference;

/// <summary>nnU-Net's blending weights for sliding-window prediction: a separable Gaussian over the output tile.</summary>
public static class GaussianWeights
{
    /// <summary>σ as a fraction of the tile size (nnU-Net's 1/8).</summary>
    public const double DefaultSigmaFraction = 1.0 / 8;

    /// <summary>The smallest weight: far corners of narrow Gaussians are raised to it, so no covered pixel has zero total weight.</summary>
    public const float MinimumWeight = 1e-8f;

    /// <summary>
    /// A <paramref name="size"/>×<paramref name="size"/> row-major float32 map exp(−d²/(2σ²)), d the
    /// distance to the tile's centre ((size − 1)/2, so the map is symmetric under flips), σ =
    /// <paramref name="sigmaFraction"/>·size, scaled so the largest weight is 1 and raised to at
    /// least <see cref="MinimumWeight"/> (for σ = size/8: about e^−8 ≈ 3·10⁻⁴ at the edge
    /// midpoints, e^−16 ≈ 10⁻⁷ at the corners).
    /// </summary>
    public static float[] Create(int size, double sigmaFraction = DefaultSigmaFraction)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        if (!(sigmaFraction > 0) || double.IsInfinity(sigmaFraction))
            throw new ArgumentOutOfRangeException(nameof(sigmaFraction), sigmaFraction, "must be positive and finite");
        double sigma = sigmaFraction * size, centre = (size - 1) / 2.0;
        var line = new double[size];
        for (int i = 0; i < size; i++) line[i] = Math.Exp(-(i - centre) * (i - centre) / (2 * sigma * sigma));
        double peak = line.Max();
        var map = new float[size * size];
        for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++)
                map[y * size + x] = (float)Math.Max(line[y] * line[x] / (peak * peak), MinimumWeight);
        return map;
    }

    /// <summary>
    /// The N-dimensional map (2-D or 3-D windows of nnU-Net), C-order: the product over the axes of
    /// exp(−dᵢ²/(2σᵢ²)), dᵢ the distance to the window's centre ((sizeᵢ − 1)/2) and σᵢ =
    /// <paramref name="sigmaFraction"/>·sizeᵢ (MONAI's <c>sigma_scale</c> 0.125, which NVIDIA's nnUNet
    /// uses with <c>--blend gaussian</c>), scaled so the largest weight is 1 and raised to at least
    /// <see cref="MinimumWeight"/>. Symmetric under a flip of any axis.
    /// </summary>
    public static float[] Create(IReadOnlyList<int> sizes, double sigmaFraction = DefaultSigmaFraction)
    {
        ArgumentNullException.ThrowIfNull(sizes);
        if (sizes.Count < 1 || sizes.Any(s => s < 1)) throw new ArgumentException($"every size must be at least 1 (got {string.Join("×", sizes)})", nameof(sizes));
        if (!(sigmaFraction > 0) || double.IsInfinity(sigmaFraction))
            throw new ArgumentOutOfRangeException(nameof(sigmaFraction), sigmaFraction, "must be positive and finite");
        double[] map = [1.0];
        foreach (int size in sizes)
        {
            double sigma = sigmaFraction * size, centre = (size - 1) / 2.0;
            var line = Enumerable.Range(0, size).Select(i => Math.Exp(-(i - centre) * (i - centre) / (2 * sigma * sigma))).ToArray();
            double peak = line.Max();
            map = map.SelectMany(m => line.Select(v => m * v / peak)).ToArray();
        }
        return map.Select(v => (float)Math.Max(v, MinimumWeight)).ToArray();
    }
}
