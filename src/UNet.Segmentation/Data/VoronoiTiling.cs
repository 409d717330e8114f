namespace UNet.Segmentation.Data;

/// <summary>
/// Seeds of a random Voronoi tiling on a square grid, one per grid cell, jittered inside it, with
/// a spatial look-up: the seeds that can be the nearest or second-nearest to any point of a grid
/// cell, whenever the two distances differ by less than a given reach, are those of the
/// (2R+1)² cells around it. No pixel ever looks at more than that.
/// </summary>
internal sealed class VoronoiTiling
{
    /// <summary>How far inside its grid cell a seed may move, as a fraction of the cell.</summary>
    private const float Jitter = 0.85f;

    private readonly float[] _x, _y;
    private readonly int _columns, _rings;

    /// <summary>Seeds covering [0, <paramref name="extent"/>)² and a margin, for cells of <paramref name="meanDiameter"/> (the diameter of the disc of the mean cell area).</summary>
    /// <param name="random">Draws positions and shades.</param>
    /// <param name="extent">The image size in pixels.</param>
    /// <param name="meanDiameter">Mean cell diameter in pixels.</param>
    /// <param name="reach">The largest distance difference the caller classifies (the widest membrane and its soft edge).</param>
    public VoronoiTiling(Random random, int extent, double meanDiameter, double reach)
    {
        // One seed per grid cell of area s², and a disc of area s² has diameter 2s/√π.
        Spacing = (float)(meanDiameter * Math.Sqrt(Math.PI) / 2);
        // A point's own seed lies within √2·s; seeds beyond R rings of cells lie at least R·s away.
        // Every seed within (nearest + reach) is therefore gathered when R·s ≥ √2·s + reach.
        _rings = (int)Math.Ceiling(Math.Sqrt(2) + reach / Spacing);
        int inside = (int)Math.Ceiling(extent / Spacing);
        _columns = inside + 2 * _rings;
        _x = new float[_columns * _columns];
        _y = new float[_x.Length];
        Shade = new float[_x.Length];
        for (int row = 0; row < _columns; row++)
        for (int column = 0; column < _columns; column++)
        {
            int id = row * _columns + column;
            _x[id] = (column - _rings + 0.5f + Jitter * (random.NextSingle() - 0.5f)) * Spacing;
            _y[id] = (row - _rings + 0.5f + Jitter * (random.NextSingle() - 0.5f)) * Spacing;
            Shade[id] = 36f * (random.NextSingle() - 0.5f);
        }
    }

    /// <summary>The grid spacing in pixels.</summary>
    public float Spacing { get; }

    /// <summary>Each seed's grey-level offset for its cell's interior, in [−18, 18).</summary>
    public float[] Shade { get; }

    /// <summary>The most seeds <see cref="Gather"/> returns.</summary>
    public int MaxCandidates => (2 * _rings + 1) * (2 * _rings + 1);

    /// <summary>The grid column (or row) of a coordinate in [0, extent).</summary>
    public int CellOf(float coordinate) => (int)(coordinate / Spacing);

    /// <summary>Copies the seeds around grid cell (<paramref name="column"/>, <paramref name="row"/>) into the spans; returns how many.</summary>
    public int Gather(int column, int row, Span<float> x, Span<float> y, Span<int> id)
    {
        int count = 0;
        for (int r = row; r <= row + 2 * _rings; r++)
        for (int c = column; c <= column + 2 * _rings; c++)
        {
            int i = r * _columns + c;
            x[count] = _x[i];
            y[count] = _y[i];
            id[count++] = i;
        }
        return count;
    }
}
