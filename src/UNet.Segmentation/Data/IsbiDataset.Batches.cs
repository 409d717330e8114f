using TorchSharp;
using static TorchSharp.torch;

namespace UNet.Segmentation.Data;

public sealed partial class IsbiDataset
{
    /// <summary>
    /// An endless, prefetched stream of (augmented) training batches from <paramref name="slices"/>,
    /// sharded for data-parallel rank <paramref name="rank"/> of <paramref name="worldSize"/>,
    /// starting at batch <paramref name="startBatch"/> (resume).
    /// </summary>
    public BatchLoader TrainingBatches(IReadOnlyList<int> slices, int batchSize, DataOptions? options = null, int seed = 0,
        int rank = 0, int worldSize = 1, long startBatch = 0, CancellationToken cancellation = default)
    {
        options = (options ?? DataOptions.Reference).EnsureValid();
        CheckSlices(slices, nameof(slices));
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(worldSize, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(rank);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(rank, worldSize);
        ArgumentOutOfRangeException.ThrowIfNegative(startBatch);
        if (slices.Count < worldSize)
            throw new ArgumentException($"{slices.Count} slices cannot be shared by {worldSize} ranks", nameof(slices));
        return new BatchLoader(PrepareAll(options), slices, batchSize, options, seed, rank, worldSize, startBatch, cancellation);
    }

    /// <summary>
    /// Batches of <paramref name="slices"/> in order, without augmentation, for evaluation. In
    /// overlap-tile mode each slice gives the tiles at offsets 0 and (slice − output) per axis.
    /// </summary>
    public IEnumerable<Batch> EvaluationBatches(IReadOnlyList<int> slices, int batchSize, DataOptions? options = null)
    {
        options = (options ?? DataOptions.Reference).EnsureValid();
        CheckSlices(slices, nameof(slices));
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        return Evaluate(slices.ToArray(), batchSize, options);
    }

    private IEnumerable<Batch> Evaluate(int[] slices, int batchSize, DataOptions options)
    {
        var samples = new List<(int Slice, long Y, long X)>();
        long last = options.InputMode == InputMode.OverlapTile ? Math.Max(0, Height - options.OutputSize) : 0;
        foreach (int s in slices)
            foreach (long y in last == 0 ? [0L] : new[] { 0L, last })
                foreach (long x in last == 0 ? [0L] : new[] { 0L, last })
                    samples.Add((s, y, x));
        long index = 0;
        for (int start = 0; start < samples.Count; start += batchSize)
        {
            var chunk = samples.Skip(start).Take(batchSize).ToArray();
            Batch batch;
            using (var scope = NewDisposeScope())
            using (no_grad())
            {
                var tiles = chunk.Select(c =>
                {
                    var pair = Prepare(c.Slice, options);
                    return options.InputMode == InputMode.OverlapTile
                        ? pair.narrow(2, c.Y, options.InputSize).narrow(3, c.X, options.InputSize)
                        : pair;
                }).ToList();
                var (images, labels, classes) = Preprocessing.Finish(cat(tiles, 0), options);
                batch = new Batch(index++, chunk.Select(c => c.Slice).ToArray(), images, labels, classes);
            }
            yield return batch;
        }
    }

    private Tensor Prepare(int slice, DataOptions options)
    {
        int area = Height * Width;
        return Preprocessing.Prepare(_trainImages.AsSpan(slice * area, area), _trainLabels.AsSpan(slice * area, area), 1, Height, Width, options);
    }

    private Tensor PrepareAll(DataOptions options)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        // Detached: the loader owns it and reads it on its own thread.
        return Preprocessing.Prepare(_trainImages, _trainLabels, TrainSlices, Height, Width, options).DetachFromDisposeScope();
    }

    private void CheckSlices(IReadOnlyList<int> slices, string name)
    {
        ArgumentNullException.ThrowIfNull(slices, name);
        if (slices.Count == 0) throw new ArgumentException("no slices given", name);
        foreach (int s in slices)
            if (s < 0 || s >= TrainSlices) throw new ArgumentOutOfRangeException(name, s, $"slice {s} is outside 0..{TrainSlices - 1}");
    }
}
