namespace UNet.Segmentation.Data;

/// <summary>
/// Smooth 2-D value noise in [0, 1]: random values on a square lattice of the given period,
/// blended with smoothstep weights. Built once per slice; sampling allocates nothing.
/// </summary>
internal sealed class ValueNoise
{
    private readonly float[] _lattice;
    private readonly int _width;
    private readonly float _inversePeriod;

    /// <summary>A lattice covering [0, <paramref name="extent"/>)² with nodes every <paramref name="period"/> pixels, drawn from <paramref name="random"/>.</summary>
    public ValueNoise(Random random, int extent, float period)
    {
        _inversePeriod = 1f / period;
        _width = (int)MathF.Ceiling(extent * _inversePeriod) + 2;
        _lattice = new float[_width * _width];
        for (int i = 0; i < _lattice.Length; i++) _lattice[i] = random.NextSingle();
    }

    /// <summary>The noise at (x, y), for 0 ≤ x, y &lt; extent.</summary>
    public float Sample(float x, float y)
    {
        float fx = x * _inversePeriod, fy = y * _inversePeriod;
        int ix = (int)fx, iy = (int)fy;
        float tx = fx - ix, ty = fy - iy;
        tx = tx * tx * (3 - 2 * tx);
        ty = ty * ty * (3 - 2 * ty);
        int i = iy * _width + ix;
        float top = _lattice[i] + (_lattice[i + 1] - _lattice[i]) * tx;
        float bottom = _lattice[i + _width] + (_lattice[i + _width + 1] - _lattice[i + _width]) * tx;
        return top + (bottom - top) * ty;
    }
}

/// <summary>A few octaves of <see cref="ValueNoise"/>, each half the period and half the weight of the one before, normalised to [0, 1].</summary>
internal sealed class FractalNoise
{
    private readonly ValueNoise[] _octaves;
    private readonly float _normaliser;

    /// <summary>Octaves with periods <paramref name="period"/>, period/2, …, drawn from <paramref name="random"/>.</summary>
    public FractalNoise(Random random, int extent, float period, int octaves)
    {
        _octaves = new ValueNoise[octaves];
        float total = 0, weight = 1;
        for (int o = 0; o < octaves; o++, weight *= 0.5f)
        {
            _octaves[o] = new ValueNoise(random, extent, MathF.Max(2f, period / (1 << o)));
            total += weight;
        }
        _normaliser = 1f / total;
    }

    /// <summary>The noise at (x, y), for 0 ≤ x, y &lt; extent.</summary>
    public float Sample(float x, float y)
    {
        float sum = 0, weight = 1;
        foreach (var octave in _octaves)
        {
            sum += weight * octave.Sample(x, y);
            weight *= 0.5f;
        }
        return sum * _normaliser;
    }
}
