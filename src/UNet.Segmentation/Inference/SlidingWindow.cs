using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace UNet.Segmentation.Inference;

/// <summary>
/// Overlap-tile prediction for images of any size with a network that maps an S_in×S_in input
/// tile to its centred S_out×S_out output (valid padding: margin m = (S_in − S_out)/2; 'same'
/// padding: m = 0). The image is mirror-padded by m (and, where it is smaller than a tile, further
/// on the bottom and right, so the output tiles cover it), output tiles are placed every
/// <see cref="Stride"/> pixels with the last one flush with the end, run in batches, and their
/// probabilities are blended by weights (Gaussian or flat) and cropped back to H×W.
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
    /// Pads the last two dimensions of an N×C×H×W tensor by mirroring without repeating the edge
    /// (dcb|abcd|cba), to any depth: pads wider than the image mirror the mirrored image again
    /// (period 2·(n − 1)); a dimension of size 1 is repeated.
    /// </summary>
    public static Tensor MirrorPad(Tensor images, long top, long bottom, long left, long right)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (top < 0 || bottom < 0 || left < 0 || right < 0) throw new ArgumentOutOfRangeException(nameof(top), "pads must be non-negative");
        using var scope = NewDisposeScope();
        var x = PadAxis(PadAxis(images, 3, left, right), 2, top, bottom);
        return (ReferenceEquals(x, images) ? images.alias() : x).MoveToOuterDisposeScope();
    }

    private static Tensor PadAxis(Tensor x, int dim, long before, long after)
    {
        while (before > 0 || after > 0)
        {
            long size = x.shape[dim];
            bool single = size == 1;
            long b = single ? before : Math.Min(before, size - 1), a = single ? after : Math.Min(after, size - 1);
            long[] pads = dim == 3 ? [b, a, 0, 0] : [0, 0, b, a];
            x = F.pad(x, pads, single ? PaddingModes.Replicate : PaddingModes.Reflect);
            before -= b;
            after -= a;
        }
        return x;
    }

    /// <summary>
    /// Blended probabilities N×classes×H×W (float32, on the images' device) for images N×C×H×W
    /// of any H, W ≥ 1. <paramref name="tileProbabilities"/> maps a batch of B×C×S_in×S_in
    /// tiles to B×classes×S_out×S_out probabilities (the caller's network, soft-max included).
    /// </summary>
    /// <param name="images">The images, N×C×H×W.</param>
    /// <param name="tileProbabilities">The network on a batch of tiles.</param>
    /// <param name="tileInput">S_in, the network's input tile size.</param>
    /// <param name="tileOutput">S_out, its output size; S_in − S_out must be even and non-negative.</param>
    /// <param name="overlap">Fraction of an output tile overlapping its neighbour, in [0, 1).</param>
    /// <param name="gaussian">Gaussian weights (<see cref="GaussianWeights"/>) rather than flat ones.</param>
    /// <param name="batchSize">Tiles per call of <paramref name="tileProbabilities"/>.</param>
    public static Tensor Predict(Tensor images, Func<Tensor, Tensor> tileProbabilities, int tileInput, int tileOutput,
        double overlap = 0.5, bool gaussian = true, int batchSize = 4)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(tileProbabilities);
        ArgumentOutOfRangeException.ThrowIfLessThan(tileOutput, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        if (tileInput < tileOutput || (tileInput - tileOutput) % 2 != 0)
            throw new ArgumentException($"the input tile ({tileInput}) must exceed the output tile ({tileOutput}) by an even margin", nameof(tileInput));
        if (images.Dimensions != 4) throw new ArgumentException($"images must be N×C×H×W; got {images.Dimensions} dimensions", nameof(images));
        using var scope = NewDisposeScope();
        long n = images.shape[0], h = images.shape[2], w = images.shape[3];
        int margin = (tileInput - tileOutput) / 2, stride = Stride(tileOutput, overlap);
        long coverH = Math.Max(h, tileOutput), coverW = Math.Max(w, tileOutput);
        var device = images.device;
        var padded = MirrorPad(images, margin, margin + coverH - h, margin, margin + coverW - w);
        int[] ys = TileStarts(coverH, tileOutput, stride), xs = TileStarts(coverW, tileOutput, stride);
        var weights = gaussian ? GaussianWeights.Create(tileOutput, device: device) : ones([1, 1, tileOutput, tileOutput], device: device);
        var total = zeros([1, 1, coverH, coverW], device: device);
        foreach (int y in ys)
            foreach (int x in xs)
            {
                using var rows = total.narrow(2, y, tileOutput);
                using var window = rows.narrow(3, x, tileOutput);
                window.add_(weights);
            }

        var tiles = (from i in Enumerable.Range(0, (int)n) from y in ys from x in xs select (i, y, x)).ToList();
        Tensor? sum = null;
        for (int start = 0; start < tiles.Count; start += batchSize)
        {
            using var inner = NewDisposeScope();
            var chunk = tiles.GetRange(start, Math.Min(batchSize, tiles.Count - start));
            var batch = cat(chunk.Select(t => padded.narrow(0, t.i, 1).narrow(2, t.y, tileInput).narrow(3, t.x, tileInput)).ToList());
            var probabilities = tileProbabilities(batch);
            long classes = CheckTileOutput(probabilities, chunk.Count, tileOutput);
            sum ??= zeros([n, classes, coverH, coverW], device: device).MoveToOuterDisposeScope();
            var weighted = probabilities.to(ScalarType.Float32).mul(weights);
            for (int k = 0; k < chunk.Count; k++)
            {
                var (i, y, x) = chunk[k];
                sum.narrow(0, i, 1).narrow(2, y, tileOutput).narrow(3, x, tileOutput).add_(weighted.narrow(0, k, 1));
            }
        }
        var result = sum!.div(total).narrow(2, 0, h).narrow(3, 0, w).contiguous();
        return result.MoveToOuterDisposeScope();
    }

    private static long CheckTileOutput(Tensor probabilities, int count, int tileOutput)
    {
        if (probabilities is null) throw new InvalidOperationException("the tile function returned null");
        var shape = probabilities.shape;
        if (shape.Length != 4 || shape[0] != count || shape[2] != tileOutput || shape[3] != tileOutput)
            throw new InvalidOperationException(
                $"the tile function returned [{string.Join(", ", shape)}] for {count} tile(s); expected [{count}, classes, {tileOutput}, {tileOutput}]");
        return shape[1];
    }
}
