using System.Diagnostics;

namespace UNet.Segmentation.Distributed;

/// <summary>
/// Ends a data-parallel job whose collective does not finish in time. The training thread marks
/// each collective with <see cref="Enter"/>; a background thread checks every few milliseconds
/// and, once one has waited longer than the timeout, reports it (rank, collective, step, time)
/// and calls the abort action (<c>MPI_Abort</c>), which ends every rank. While a collective is
/// in flight it also runs <see cref="Poll"/> (NCCL's asynchronous error check), whose exception
/// is reported the same way.
/// </summary>
internal sealed class CollectiveWatchdog : IDisposable
{
    private readonly TimeSpan _timeout;
    private readonly int _rank, _worldSize;
    private readonly Action<string> _report;
    private readonly Action _abort;
    private readonly Thread _thread;
    private readonly ManualResetEventSlim _stop = new();
    private readonly object _gate = new();
    private string? _current;
    private long? _step;
    private long _startedAt;

    public CollectiveWatchdog(int rank, int worldSize, TimeSpan timeout, Action<string> report, Action abort, Action? poll = null)
    {
        (_rank, _worldSize, _timeout, _report, _abort, Poll) = (rank, worldSize, timeout, report, abort, poll);
        _thread = new Thread(Watch) { IsBackground = true, Name = "UNet collective watchdog" };
        _thread.Start();
    }

    /// <summary>Runs on the watchdog thread while a collective is in flight; may throw to abort.</summary>
    public Action? Poll { get; }

    /// <summary>Marks the start of <paramref name="collective"/> (of training step <paramref name="step"/>); dispose the result when it is done.</summary>
    public Scope Enter(string collective, long? step)
    {
        lock (_gate) (_current, _step, _startedAt) = (collective, step, Stopwatch.GetTimestamp());
        return new Scope(this);
    }

    private void Leave()
    {
        lock (_gate) _current = null;
    }

    private void Watch()
    {
        var interval = TimeSpan.FromMilliseconds(Math.Clamp(_timeout.TotalMilliseconds / 20, 5, 200));
        while (!_stop.Wait(interval))
        {
            string? collective;
            long? step;
            TimeSpan waited;
            lock (_gate)
            {
                (collective, step) = (_current, _step);
                waited = Stopwatch.GetElapsedTime(_startedAt);
            }
            if (collective is null) continue;
            string where = step is { } s ? $"{collective} at step {s}" : collective;
            string? problem = null;
            try
            {
                Poll?.Invoke();
            }
            catch (Exception e)
            {
                problem = $"rank {_rank} of {_worldSize}: {where} failed: {e.Message}; aborting the job";
            }
            if (problem is null && waited > _timeout)
                problem = $"rank {_rank} of {_worldSize}: {where} did not complete within {_timeout.TotalSeconds:0.###} s: another rank is hung, dead or slower than the timeout allows ({DataParallelOptions.TimeoutVariable}); aborting the job";
            if (problem is null) continue;
            _report(problem);
            _abort();
            return;
        }
    }

    /// <summary>Stops the watchdog thread.</summary>
    public void Dispose()
    {
        _stop.Set();
        if (Thread.CurrentThread != _thread) _thread.Join();
        _stop.Dispose();
    }

    /// <summary>The span of one collective.</summary>
    public readonly struct Scope(CollectiveWatchdog owner) : IDisposable
    {
        /// <summary>Marks the collective done.</summary>
        public void Dispose() => owner.Leave();
    }
}
