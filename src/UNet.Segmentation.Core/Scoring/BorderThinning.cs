namespace UNet.Segmentation.Scoring;

/// <summary>
/// The border thinning of the ISBI 2012 challenge's official scores: the flooding watershed that
/// Fiji's Trainable_Segmentation (<c>WatershedTransform2D</c> with 4-connectivity, as
/// <c>RandError</c> and <c>VariationOfInformation</c> call it "after thinning") runs on one
/// binarized page, where the predicted membrane is high (255) and the predicted interior low (0).
/// The membrane's pixels join the interior segment they are flooded from, except where two
/// segments meet: those pixels are dams, label 0, a line about one pixel wide.
/// </summary>
/// <remarks>
/// <para>With only two grey levels the flooding comes down to this, and the order of each step
/// decides which pixel of an even-width membrane becomes the dam:</para>
/// <list type="number">
/// <item>level 0: the interior's 4-connected components are the basins, labels 1, 2, …;</item>
/// <item>level 255: the membrane pixels that have a basin among their 4 neighbours enter a FIFO
/// queue in column-major order (x outer, y inner: the order Fiji lists pixels in and keeps for
/// equal values, its sort being stable);</item>
/// <item>the queue is worked first in, first out. A taken pixel looks at its neighbours in the
/// order left, up, right, down, starting "queued": a neighbour with a basin label gives it that
/// label if it has none yet (or is a dam only because of a dam neighbour), and makes it a dam if
/// it already has another label; a dam neighbour makes a still queued pixel a dam, which a later
/// labelled neighbour can overturn; a membrane neighbour not yet queued is queued behind. Pixels
/// still in the queue count as nothing. The pixel keeps what it ends with: a label or a dam;</item>
/// <item>membrane that no basin reached (only a page without interior: then all of it) becomes new
/// basins, its 4-connected components.</item>
/// </list>
/// <para>Fiji's global "flag" of the Soille–Vincent algorithm comes out as the dam kind above:
/// it is set whenever a pixel turns dam and read only while that same pixel is being worked.</para>
/// </remarks>
internal sealed class BorderThinning
{
    private const int Dam = 0, Unreached = -1, Queued = -2, SoftDam = -3, HardDam = -4;

    private readonly int _height, _width;
    private readonly int[] _queue;

    /// <summary>A thinning of pages of <paramref name="height"/> × <paramref name="width"/>, its work buffer reused page after page.</summary>
    public BorderThinning(int height, int width)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        (_height, _width) = (height, width);
        _queue = new int[checked(height * width)];
    }

    /// <summary>
    /// Thins one page: <paramref name="interior"/> is non-zero where the prediction is interior
    /// (P &gt; t). <paramref name="labels"/> receives each pixel's segment (1, 2, …) or 0 on a dam.
    /// </summary>
    /// <returns>The largest label.</returns>
    public int Thin(ReadOnlySpan<byte> interior, Span<int> labels)
    {
        int size = _queue.Length;
        if (interior.Length != size || labels.Length != size)
            throw new ArgumentException($"{interior.Length} flags and {labels.Length} labels for a page of {_height}x{_width}");
        int count = ConnectedComponents.Label(interior, 1, _height, _width, labels, _queue);
        for (int p = 0; p < size; p++)
            if (labels[p] == 0) labels[p] = Unreached;

        int head = 0, tail = 0;
        for (int x = 0; x < _width; x++)
            for (int p = x; p < size; p += _width)
                if (labels[p] == Unreached && TouchesBasin(labels, p, x))
                {
                    labels[p] = Queued;
                    _queue[tail++] = p;
                }

        while (head < tail)
        {
            int p = _queue[head++];
            int x = p % _width;
            int state = Queued;
            if (x > 0) Look(labels, p - 1, ref state, ref tail);
            if (p >= _width) Look(labels, p - _width, ref state, ref tail);
            if (x < _width - 1) Look(labels, p + 1, ref state, ref tail);
            if (p + _width < size) Look(labels, p + _width, ref state, ref tail);
            labels[p] = state > 0 ? state : Dam;
        }

        for (int x = 0; x < _width; x++)
            for (int p = x; p < size; p += _width)
                if (labels[p] == Unreached) Flood(labels, p, ++count);
        return count;
    }

    private bool TouchesBasin(Span<int> labels, int p, int x) =>
        (x > 0 && labels[p - 1] > 0) || (p >= _width && labels[p - _width] > 0)
        || (x < _width - 1 && labels[p + 1] > 0) || (p + _width < labels.Length && labels[p + _width] > 0);

    /// <summary>One neighbour <paramref name="n"/> of the pixel being worked, whose state so far is <paramref name="state"/>.</summary>
    private void Look(Span<int> labels, int n, ref int state, ref int tail)
    {
        int v = labels[n];
        if (v > 0)
        {
            if (state is Queued or SoftDam) state = v;
            else if (state > 0 && state != v) state = HardDam;
        }
        else if (v == Dam)
        {
            if (state == Queued) state = SoftDam;
        }
        else if (v == Unreached)
        {
            labels[n] = Queued;
            _queue[tail++] = n;
        }
    }

    /// <summary>Labels the 4-connected unreached pixels around <paramref name="seed"/> with <paramref name="label"/>.</summary>
    private void Flood(Span<int> labels, int seed, int label)
    {
        int head = 0, tail = 0;
        labels[seed] = label;
        _queue[tail++] = seed;
        while (head < tail)
        {
            int p = _queue[head++], x = p % _width;
            if (x > 0 && labels[p - 1] == Unreached) { labels[p - 1] = label; _queue[tail++] = p - 1; }
            if (p >= _width && labels[p - _width] == Unreached) { labels[p - _width] = label; _queue[tail++] = p - _width; }
            if (x < _width - 1 && labels[p + 1] == Unreached) { labels[p + 1] = label; _queue[tail++] = p + 1; }
            if (p + _width < labels.Length && labels[p + _width] == Unreached) { labels[p + _width] = label; _queue[tail++] = p + _width; }
        }
    }
}
