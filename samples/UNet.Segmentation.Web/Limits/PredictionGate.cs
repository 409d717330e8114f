using System.Diagnostics;
using System.Threading.RateLimiting;
using UNet.Segmentation.Web.Hosting;
using UNet.Segmentation.Web.Problems;

namespace UNet.Segmentation.Web.Limits;

/// <summary>
/// Bounds the predictions that run at once (<see cref="SegmentationSettings.MaxConcurrentPredictions"/>)
/// and the requests waiting for one (<see cref="SegmentationSettings.QueueLength"/>, first come
/// first served); a request beyond both is refused at once with 503 and a Retry-After estimated
/// from recent prediction times. A prediction whose request gave up (timeout, disconnect) still
/// holds its slot until it ends: the bound is on work, not on answers.
/// </summary>
public sealed class PredictionGate : IDisposable
{
    private readonly ConcurrencyLimiter _limiter;
    private readonly int _slots;
    private readonly int _queue;
    private double _meanSeconds = 1; // a running mean of recent predictions' durations

    /// <summary>A gate with the settings' slots and queue.</summary>
    public PredictionGate(SegmentationSettings settings)
    {
        _slots = settings.MaxConcurrentPredictions;
        _queue = settings.QueueLength;
        _limiter = new ConcurrencyLimiter(new ConcurrencyLimiterOptions
        {
            PermitLimit = _slots,
            QueueLimit = _queue,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        });
    }

    /// <summary>Seconds a refused client should wait: the queue's expected drain time, at least 1.</summary>
    public int RetryAfterSeconds => (int)Math.Clamp(Math.Ceiling(Volatile.Read(ref _meanSeconds) * (_queue + _slots) / _slots), 1, 3600);

    /// <summary>
    /// Waits for a slot, then runs <paramref name="work"/> on the thread pool and returns its result;
    /// <paramref name="cancellationToken"/> stops the waiting, not the work.
    /// </summary>
    /// <exception cref="RequestProblemException">503 busy: every slot and queue place is taken.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired while waiting.</exception>
    public async Task<T> RunAsync<T>(Func<T> work, CancellationToken cancellationToken)
    {
        var lease = await _limiter.AcquireAsync(1, cancellationToken);
        if (!lease.IsAcquired)
        {
            lease.Dispose();
            throw new RequestProblemException(ProblemCatalog.Busy(_slots, _queue, RetryAfterSeconds));
        }
        var clock = Stopwatch.StartNew();
        var task = Task.Run(work, CancellationToken.None);
        _ = task.ContinueWith(done =>
        {
            _ = done.Exception; // observed here when nobody waits for it any more
            Record(clock.Elapsed.TotalSeconds);
            lease.Dispose();
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return await task.WaitAsync(cancellationToken);
    }

    private void Record(double seconds)
    {
        double mean = Volatile.Read(ref _meanSeconds);
        Volatile.Write(ref _meanSeconds, 0.8 * mean + 0.2 * seconds); // races lose an update at worst
    }

    /// <summary>Releases the limiter.</summary>
    public void Dispose() => _limiter.Dispose();
}
