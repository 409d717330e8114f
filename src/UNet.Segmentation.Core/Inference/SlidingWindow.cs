namespace UNet.Segmentation.Inference;

/// <summary>
/// Overlap-tile prediction for images of any size with a network that maps an S_in×S_in input
/// tile to its centred S_out×S_out output (valid padding: margin m = (S_in − S_out)/2; 'same'
/// padding: m = 0). The image is mirror-padded by m (and, where it is smaller than a tile, further
/// on the bottom and right, so the output tiles cover it), output tiles are placed every
/// <see cref="Stride"/> pixels with the last one flush with the end, run in batches, and their
/// probabilities are blended by weights (Gaussian or flat) and cropped back to H×W. Plain arrays:
/// the TorchSharp and the ONNX Runtime predictors share it.
/// </summary>
public static class SlidingWindow
{
    /// <summary>The step between output tiles: ⌊tile·(1 − overlap)⌋, at least 1.</summary>
    public static int Stride(int tile, double overlap)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(tile, 1);
        if (!(overlap >= 0 && overlap < 1)) throw new ArgumentOutOfRangeException(nameof(overlap), overlap, "overlap must lie in [0, 1)");
        return Math.Max(1, (int)Math.Floor(tile * (1 - overlap) + 1e-9));
    }

    /// <summary>Where output tiles start along an axis of <paramref name="length"/> ≥ <paramref name="tile"/> pixels: 0, stride, 2·stride, … and length − tile (the last flush with the end), ascending, without repeats.</summary>
    public static int[] TileStarts(long length, int tile, int stride)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(tile, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(stride, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(length, tile);
        if (length > int.MaxValue) throw new ArgumentOutOfRangeException(nameof(length), length, "too long");
        int last = (int)length - tile;
        var starts = new List<int>();
        for (long p = 0; p < last; p += stride) starts.Add((int)p);
        starts.Add(last);
        return starts.ToArray();
    }

    /// <summary>
    /// The pixel of an axis of <paramref name="size"/> pixels that position <paramref name="position"/>
    /// (any integer) mirrors, without repeating the edge (dcb|abcd|cba), to any depth (period
    /// 2·(size − 1)); an axis of size 1 is repeated.
    /// </summary>
    public static int MirrorIndex(long position, int size)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        if (size == 1) return 0;
        long period = 2L * (size - 1), m = ((position % period) + period) % period;
        return (int)(m < size ? m : period - m);
    }

    /// <summary>Pads every plane by mirroring (<see cref="MirrorIndex"/>), <paramref name="top"/> rows above, … <paramref name="right"/> columns to the right.</summary>
    public static FloatImages MirrorPad(FloatImages images, int top, int bottom, int left, int right)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (top < 0 || bottom < 0 || left < 0 || right < 0) throw new ArgumentOutOfRangeException(nameof(top), "pads must be non-negative");
        int h = images.Height + top + bottom, w = images.Width + left + right;
        var rows = Indices(h, top, images.Height);
        var columns = Indices(w, left, images.Width);
        var result = FloatImages.Zeros(images.Count, images.Channels, h, w);
        for (int i = 0; i < images.Count; i++)
            for (int c = 0; c < images.Channels; c++)
                Gather(images.Plane(i, c), images.Width, rows, columns, result.Plane(i, c));
        return result;
    }

    /// <summary>
    /// Blended probabilities N×K×H×W for images N×C×H×W of any H, W ≥ 1, K =
    /// <paramref name="network"/>'s classes, its tiles S_in×S_in with their S_out×S_out outputs.
    /// </summary>
    /// <param name="images">The images, N×C×H×W, C the network's input channels.</param>
    /// <param name="network">The network, soft-max included.</param>
    /// <param name="overlap">Fraction of an output tile overlapping its neighbour, in [0, 1).</param>
    /// <param name="gaussian">Gaussian weights (<see cref="GaussianWeights"/>) rather than flat ones.</param>
    /// <param name="batchSize">Tiles per call of the network.</param>
    public static FloatImages Predict(FloatImages images, ISegmentationNetwork network, double overlap = 0.5, bool gaussian = true, int batchSize = 4)
    {
        ArgumentNullException.ThrowIfNull(images);
        var (tileInput, tileOutput, classes) = NetworkShape.Check(network, images, batchSize);
        int n = images.Count, c = images.Channels, h = images.Height, w = images.Width;
        int margin = (tileInput - tileOutput) / 2, stride = Stride(tileOutput, overlap);
        int coverH = Math.Max(h, tileOutput), coverW = Math.Max(w, tileOutput);
        var rows = Indices(coverH + 2 * margin, margin, h);
        var columns = Indices(coverW + 2 * margin, margin, w);
        int[] ys = TileStarts(coverH, tileOutput, stride), xs = TileStarts(coverW, tileOutput, stride);
        var weights = gaussian ? GaussianWeights.Create(tileOutput) : Enumerable.Repeat(1f, tileOutput * tileOutput).ToArray();
        var total = new float[coverH * coverW];
        foreach (int y in ys)
            foreach (int x in xs)
                AddWindow(total, coverW, y, x, weights, tileOutput);

        var tiles = (from i in Enumerable.Range(0, n) from y in ys from x in xs select (i, y, x)).ToList();
        var sum = FloatImages.Zeros(n, classes, coverH, coverW);
        int inputArea = tileInput * tileInput, outputArea = tileOutput * tileOutput;
        var batch = new float[Math.Min(batchSize, tiles.Count) * c * inputArea];
        var probabilities = new float[Math.Min(batchSize, tiles.Count) * classes * outputArea];
        var weighted = new float[outputArea];
        for (int start = 0; start < tiles.Count; start += batchSize)
        {
            int count = Math.Min(batchSize, tiles.Count - start);
            for (int k = 0; k < count; k++)
            {
                var (i, y, x) = tiles[start + k];
                for (int ch = 0; ch < c; ch++)
                    Gather(images.Plane(i, ch), w, rows.AsSpan(y, tileInput), columns.AsSpan(x, tileInput),
                        batch.AsSpan((k * c + ch) * inputArea, inputArea));
            }
            network.Probabilities(batch.AsSpan(0, count * c * inputArea), count, probabilities.AsSpan(0, count * classes * outputArea));
            for (int k = 0; k < count; k++)
            {
                var (i, y, x) = tiles[start + k];
                for (int ch = 0; ch < classes; ch++)
                {
                    var p = probabilities.AsSpan((k * classes + ch) * outputArea, outputArea);
                    for (int j = 0; j < outputArea; j++) weighted[j] = p[j] * weights[j];
                    AddWindow(sum.Plane(i, ch), coverW, y, x, weighted, tileOutput);
                }
            }
        }
        var result = FloatImages.Zeros(n, classes, h, w);
        for (int i = 0; i < n; i++)
            for (int ch = 0; ch < classes; ch++)
            {
                var from = sum.Plane(i, ch);
                var to = result.Plane(i, ch);
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++)
                        to[y * w + x] = from[y * coverW + x] / total[y * coverW + x];
            }
        return result;
    }

    /// <summary>For each of <paramref name="length"/> padded positions, the source pixel (the image starts at <paramref name="before"/>).</summary>
    private static int[] Indices(int length, int before, int size)
    {
        var indices = new int[length];
        for (int p = 0; p < length; p++) indices[p] = MirrorIndex(p - before, size);
        return indices;
    }

    private static void Gather(ReadOnlySpan<float> plane, int width, ReadOnlySpan<int> rows, ReadOnlySpan<int> columns, Span<float> destination)
    {
        int w = columns.Length;
        for (int y = 0; y < rows.Length; y++)
        {
            var source = plane.Slice(rows[y] * width, width);
            var row = destination.Slice(y * w, w);
            for (int x = 0; x < w; x++) row[x] = source[columns[x]];
        }
    }

    private static void AddWindow(Span<float> plane, int width, int y, int x, ReadOnlySpan<float> values, int size)
    {
        for (int r = 0; r < size; r++)
        {
            var row = plane.Slice((y + r) * width + x, size);
            var add = values.Slice(r * size, size);
            for (int j = 0; j < size; j++) row[j] += add[j];
        }
    }
}
