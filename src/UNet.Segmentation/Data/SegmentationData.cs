using TorchSharp;
using static TorchSharp.torch;

namespace UNet.Segmentation.Data;

/// <summary>
/// Training data a <see cref="Training.Trainer"/> can learn from: <see cref="Count"/> items
/// (slices or image files) of <see cref="ImageChannels"/> channels with masks of
/// <see cref="Classes"/> classes, cross-validation folds over the items, augmented training
/// batches and plain evaluation batches. <see cref="IsbiDataset"/> holds the ISBI 2012 volumes;
/// <see cref="FolderDataset"/> a folder of images and masks.
/// </summary>
public abstract class SegmentationData
{
    /// <summary>Where the data came from (a folder, or "synthetic (seed N)").</summary>
    public abstract string Source { get; }

    /// <summary>The number of training items (slices or image files) that folds and batches index.</summary>
    public abstract int Count { get; }

    /// <summary>Channels of every image: 1 (grey) or 3 (RGB); the model's input channels.</summary>
    public abstract int ImageChannels { get; }

    /// <summary>The number of classes in the masks (0..Classes−1); the model's output channels.</summary>
    public abstract int Classes { get; }

    /// <summary>The cross-validation split of the items (the reference's by default).</summary>
    public FoldSplit Fold(int fold, int folds = 5, FoldScheme scheme = FoldScheme.Reference, int seed = 0) =>
        CrossValidation.Split(fold, folds, Count, scheme, seed);

    /// <summary>
    /// No fold: every item trains, none validates (<see cref="FoldSplit.All"/>; the reference's
    /// <c>--fold None</c>, which makes its final model on all 30 ISBI slices).
    /// </summary>
    public FoldSplit AllItems() => FoldSplit.All(Count);

    /// <summary>
    /// An endless, prefetched stream of (augmented) training batches from <paramref name="items"/>,
    /// sharded for data-parallel rank <paramref name="rank"/> of <paramref name="worldSize"/>,
    /// starting at batch <paramref name="startBatch"/> (resume). In overlap-tile mode each sample is
    /// a random input-size tile of its (mirror-padded) item, so items may have any size.
    /// </summary>
    public BatchLoader TrainingBatches(IReadOnlyList<int> items, int batchSize, DataOptions? options = null, int seed = 0,
        int rank = 0, int worldSize = 1, long startBatch = 0, CancellationToken cancellation = default)
    {
        options = (options ?? DataOptions.Reference).EnsureValid();
        CheckItems(items, nameof(items));
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(worldSize, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(rank);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(rank, worldSize);
        ArgumentOutOfRangeException.ThrowIfNegative(startBatch);
        if (items.Count < worldSize)
            throw new ArgumentException($"{items.Count} items cannot be shared by {worldSize} ranks", nameof(items));
        var prepared = PrepareAll(options);
        return new BatchLoader(prepared, items, batchSize, options, seed, rank, worldSize, startBatch, ImageChannels, cancellation);
    }

    /// <summary>
    /// Batches of <paramref name="items"/> in order, without augmentation, for evaluation. In
    /// overlap-tile mode each item gives the input-size tiles whose output windows cover it (a grid
    /// of output-size steps, the last one flush with the far edge).
    /// </summary>
    public IEnumerable<Batch> EvaluationBatches(IReadOnlyList<int> items, int batchSize, DataOptions? options = null)
    {
        options = (options ?? DataOptions.Reference).EnsureValid();
        CheckItems(items, nameof(items));
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        return Evaluate(items.ToArray(), batchSize, options);
    }

    /// <summary>
    /// Item <paramref name="item"/> ready for the network, 1×(C+L)×H×W float32 (owned by the current
    /// dispose scope): C image channels in [−1, 1], then L label channels (L = 1, the class-1 map,
    /// for two classes; else one hot map per class). Reference mode: resized to the output size and
    /// zero-padded to the input size; overlap-tile mode: mirror-padded by the margin.
    /// </summary>
    protected abstract Tensor PrepareItem(int item, DataOptions options);

    private IReadOnlyList<Tensor> PrepareAll(DataOptions options)
    {
        using var noGrad = no_grad();
        var prepared = new Tensor[Count];
        try
        {
            for (int i = 0; i < Count; i++)
            {
                using var scope = NewDisposeScope();
                // Detached: the loader owns them and reads them on its own thread.
                prepared[i] = PrepareItem(i, options).contiguous().DetachFromDisposeScope();
            }
        }
        catch
        {
            foreach (var t in prepared) t?.Dispose();
            throw;
        }
        return prepared;
    }

    private IEnumerable<Batch> Evaluate(int[] items, int batchSize, DataOptions options)
    {
        var samples = new List<(int Item, long Y, long X)>();
        foreach (int item in items)
        {
            var (height, width) = PreparedSize(item, options);
            foreach (long y in TileOffsets(height, options))
                foreach (long x in TileOffsets(width, options))
                    samples.Add((item, y, x));
        }
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
                    var pair = PrepareItem(c.Item, options);
                    return options.InputMode == InputMode.OverlapTile
                        ? pair.narrow(2, c.Y, options.InputSize).narrow(3, c.X, options.InputSize)
                        : pair;
                }).ToList();
                var (images, labels, classes) = Preprocessing.Finish(cat(tiles, 0), options, ImageChannels);
                batch = new Batch(index++, chunk.Select(c => c.Item).ToArray(), images, labels, classes);
            }
            yield return batch;
        }
    }

    /// <summary>The height and width of item <paramref name="item"/> as <see cref="PrepareItem"/> makes it.</summary>
    protected abstract (long Height, long Width) PreparedSize(int item, DataOptions options);

    /// <summary>Offsets of the input tiles along one axis of a prepared item of <paramref name="size"/> pixels.</summary>
    internal static IEnumerable<long> TileOffsets(long size, DataOptions options)
    {
        if (options.InputMode != InputMode.OverlapTile) return [0L];
        long last = Math.Max(0, size - options.InputSize);
        var offsets = new List<long>();
        for (long o = 0; o < last; o += options.OutputSize) offsets.Add(o);
        offsets.Add(last);
        return offsets;
    }

    private void CheckItems(IReadOnlyList<int> items, string name)
    {
        ArgumentNullException.ThrowIfNull(items, name);
        if (items.Count == 0) throw new ArgumentException("no items given", name);
        foreach (int s in items)
            if (s < 0 || s >= Count) throw new ArgumentOutOfRangeException(name, s, $"item {s} is outside 0..{Count - 1}");
    }
}
