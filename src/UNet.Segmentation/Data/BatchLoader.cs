using System.Collections.Concurrent;
using TorchSharp;
using static TorchSharp.torch;

namespace UNet.Segmentation.Data;

/// <summary>
/// An endless stream of augmented training batches prepared on a background thread into a
/// bounded queue. Batch k is a function of (seed, rank, world size, k) alone: the epoch order is
/// a seeded shuffle of the training slices, every rank takes a disjoint share of it
/// (<c>order[rank::worldSize]</c>), and each batch's augmentation draws from its own seeded
/// <see cref="Random"/>; so a run resumed at batch k sees exactly what it would have seen.
/// Dispose it (or cancel the token) to stop: queued batches are disposed, nothing leaks. It owns
/// the preprocessed items it draws from (one tensor each, 1×(C+L)×H×W; sizes may differ in
/// overlap-tile mode, where every sample is a random input-size tile of its item).
/// </summary>
public sealed class BatchLoader : IDisposable
{
    private readonly IReadOnlyList<Tensor> _items;
    private readonly int[] _slices;
    private readonly int _imageChannels;
    private readonly DataOptions _options;
    private readonly int _batchSize, _seed, _rank, _worldSize;
    private readonly BlockingCollection<Batch> _queue;
    private readonly CancellationTokenSource _stop;
    private readonly Thread _worker;
    private Exception? _failure;
    private bool _disposed;

    internal BatchLoader(IReadOnlyList<Tensor> items, IReadOnlyList<int> slices, int batchSize, DataOptions options, int seed, int rank, int worldSize, long startBatch,
        int imageChannels, CancellationToken cancellation)
    {
        _items = items;
        _imageChannels = imageChannels;
        _slices = slices.ToArray();
        _options = options;
        _batchSize = batchSize;
        _seed = seed;
        _rank = rank;
        _worldSize = worldSize;
        NextBatch = startBatch;
        _queue = new BlockingCollection<Batch>(options.PrefetchBatches);
        _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        _worker = new Thread(() => Produce(startBatch)) { IsBackground = true, Name = "UNet batch loader" };
        _worker.Start();
    }

    /// <summary>Index of the next batch <see cref="Take"/> returns (the data-order state to checkpoint).</summary>
    public long NextBatch { get; private set; }

    /// <summary>Slices in this rank's share of one epoch.</summary>
    public int SamplesPerEpoch => (_slices.Length - _rank + _worldSize - 1) / _worldSize;

    /// <summary>Waits for the next batch (the caller owns and disposes it).</summary>
    /// <exception cref="OperationCanceledException">The token or the loader was cancelled.</exception>
    /// <exception cref="InvalidOperationException">Preparing a batch failed; the inner exception says why.</exception>
    public Batch Take(CancellationToken cancellation = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellation, _stop.Token);
        try
        {
            var batch = _queue.Take(linked.Token);
            NextBatch = batch.Index + 1;
            return batch;
        }
        catch (InvalidOperationException) when (_failure is not null)
        {
            throw new InvalidOperationException($"preparing batch {NextBatch} failed: {_failure.Message}", _failure);
        }
    }

    /// <summary>The slices of batch <paramref name="index"/>, in sample order.</summary>
    public int[] SlicesOf(long index)
    {
        var result = new int[_batchSize];
        int share = SamplesPerEpoch;
        for (int i = 0; i < _batchSize; i++)
        {
            long position = index * _batchSize + i;
            long epoch = position / share;
            var order = EpochOrder(epoch);
            result[i] = order[_rank + (int)(position % share) * _worldSize];
        }
        return result;
    }

    private int[] EpochOrder(long epoch)
    {
        var order = (int[])_slices.Clone();
        new Random(Seeds.Mix(_seed, epoch, 0x5EED)).Shuffle(order);
        return order;
    }

    private void Produce(long start)
    {
        try
        {
            using var noGrad = no_grad();
            for (long index = start; !_stop.IsCancellationRequested; index++)
            {
                var batch = Make(index);
                try
                {
                    _queue.Add(batch, _stop.Token);
                }
                catch
                {
                    batch.Dispose();
                    throw;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopped.
        }
        catch (Exception e)
        {
            _failure = e;
        }
        finally
        {
            _queue.CompleteAdding();
        }
    }

    private Batch Make(long index)
    {
        // Runs on the loader thread: the scope is this thread's, and Batch detaches what it keeps
        // from it, so the consumer (another thread) owns the tensors.
        using var scope = NewDisposeScope();
        var slices = SlicesOf(index);
        var random = new Random(Seeds.Mix(_seed, _rank, index));
        var tiles = new Tensor[slices.Length];
        for (int i = 0; i < slices.Length; i++)
        {
            var item = _items[slices[i]];
            // Overlap-tile mode: a random input-size tile (rows drawn first, then columns).
            tiles[i] = _options.InputMode != InputMode.OverlapTile ? item
                : item.narrow(2, random.NextInt64(item.shape[2] - _options.InputSize + 1), _options.InputSize)
                      .narrow(3, random.NextInt64(item.shape[3] - _options.InputSize + 1), _options.InputSize);
        }
        var pairs = cat(tiles, 0);
        if (_options.Augment) pairs = Augmentation.Apply(pairs, _options, random, _imageChannels);
        var (images, labels, classes) = Preprocessing.Finish(pairs, _options, _imageChannels);
        return new Batch(index, slices, images, labels, classes);
    }

    /// <summary>Stops the worker, waits for it, and disposes every batch still queued.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _stop.Cancel();
        _worker.Join();
        while (_queue.TryTake(out var batch)) batch.Dispose();
        _queue.Dispose();
        _stop.Dispose();
        foreach (var item in _items) item.Dispose();
    }
}
