using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using TorchSharp;
using UNet.Segmentation.Distributed.Mpi;
using UNet.Segmentation.Distributed.Nccl;
using UNet.Segmentation.Runtime;
using static TorchSharp.torch;
using Parameter = TorchSharp.Modules.Parameter;

namespace UNet.Segmentation.Distributed;

/// <summary>
/// What a trainer rank needs from the others, over MPI (host memory, small values, barriers) and,
/// for CUDA tensors, NCCL on the default stream: broadcast of rank 0's state, gradient averaging
/// in buckets, averages of logged numbers, agreement on skipping a step. Every collective runs
/// under the <see cref="CollectiveWatchdog"/>, which aborts the job when one does not finish in
/// <see cref="DataParallelOptions.Timeout"/>.
/// </summary>
internal sealed class DataParallel : IDisposable
{
    /// <summary>The exit code of a job the watchdog aborts.</summary>
    public const int AbortExitCode = 3;

    private readonly MpiWorld _world;
    private readonly NcclCommunicator? _nccl;
    private readonly CollectiveWatchdog _watchdog;
    private readonly Device _device;
    private readonly long _bucketBytes;
    private GradientBuckets? _buckets;

    public DataParallel(MpiWorld world, DataParallelOptions options, Device device, ILogger logger)
    {
        _world = world;
        _device = device;
        _bucketBytes = options.BucketBytes;
        if (device.type == DeviceType.CUDA) _nccl = NcclCommunicator.Create(world, device.index >= 0 ? device.index : world.LocalRank);
        else if (device.type != DeviceType.CPU)
            throw new NotSupportedException($"data parallelism runs on CPU (MPI) or CUDA (NCCL) tensors, not on {device.type}");
        _watchdog = new CollectiveWatchdog(world.Rank, world.Size, options.Timeout,
            report: message =>
            {
                Console.Error.WriteLine(message);
                logger.LogError("{Message}", message);
            },
            abort: () =>
            {
                _nccl?.Abort();
                world.Abort(AbortExitCode);
            },
            poll: _nccl is null ? null : _nccl.CheckAsyncError);
    }

    public int Rank => _world.Rank;

    public int WorldSize => _world.Size;

    /// <summary>The engines in use, for the log: "MPI (Open MPI v4.1.4)" or "MPI + NCCL 2.21.5".</summary>
    public string Engine => _nccl is null ? $"MPI ({_world.LibraryVersion})" : $"MPI ({_world.LibraryVersion}) + NCCL {_nccl.Version}";

    /// <summary>The training step collectives are part of, for the watchdog's messages.</summary>
    public long? Step { get; set; }

    /// <summary>Overwrites every tensor with rank 0's copy, in place (any layout, any dtype).</summary>
    public void BroadcastFromMain(IEnumerable<Tensor> tensors, string what)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        foreach (var t in tensors)
        {
            bool inPlace = t.is_contiguous();
            var dense = inPlace ? t : t.contiguous();
            nint address = TensorMemory.Address(dense);
            long bytes = TensorMemory.Bytes(dense);
            using (_watchdog.Enter($"broadcast of {what}", Step))
            {
                if (_nccl is not null && dense.device.type == DeviceType.CUDA)
                {
                    _nccl.Broadcast(address, bytes, 0, what);
                    Devices.Synchronize(dense.device);
                }
                else
                {
                    if (dense.device.type != DeviceType.CPU) throw new NotSupportedException($"cannot broadcast a {dense.device.type} tensor without NCCL");
                    _world.Broadcast(address, bytes, what);
                }
            }
            if (!inPlace) t.copy_(dense);
        }
    }

    /// <summary>Replaces every parameter's gradient by its mean over the ranks, one all-reduce per bucket.</summary>
    public void AverageGradients(IReadOnlyList<Parameter> parameters)
    {
        _buckets ??= new GradientBuckets(parameters, _bucketBytes, _device);
        int count = _buckets.Count;
        for (int i = 0; i < count; i++)
        {
            _buckets.Gather(i);
            var flat = _buckets.Buffer(i);
            string what = $"gradient bucket {i + 1} of {count}";
            using (_watchdog.Enter($"all-reduce of {what}", Step))
            {
                if (_nccl is not null) _nccl.AllReduceAverageFloat32(TensorMemory.Address(flat), flat.numel(), what);
                else _world.AllReduceSumFloat32(TensorMemory.Address(flat), flat.numel(), what);
            }
        }
        if (_nccl is not null)
            using (_watchdog.Enter($"completion of the gradient all-reduce ({count} buckets)", Step))
                Devices.Synchronize(_device);
        double factor = _nccl is null ? 1.0 / WorldSize : 1.0;
        for (int i = 0; i < count; i++) _buckets.Scatter(i, factor);
    }

    /// <summary>The mean of each value over the ranks.</summary>
    public double[] Average(ReadOnlySpan<double> values, string what)
    {
        var sums = values.ToArray();
        using (_watchdog.Enter($"all-reduce of {what}", Step)) _world.AllReduceSum(sums, what);
        for (int i = 0; i < sums.Length; i++) sums[i] /= WorldSize;
        return sums;
    }

    /// <summary>True on every rank when <paramref name="flag"/> is true on any rank.</summary>
    public bool Any(bool flag, string what)
    {
        Span<long> v = [flag ? 1 : 0];
        using (_watchdog.Enter($"all-reduce of {what}", Step)) _world.AllReduceMax(v, what);
        return v[0] != 0;
    }

    /// <summary>Rank 0's values on every rank.</summary>
    public long[] BroadcastFromMain(long[] values, string what)
    {
        var copy = (long[])values.Clone();
        using (_watchdog.Enter($"broadcast of {what}", Step)) _world.Broadcast(MemoryMarshal.AsBytes(copy.AsSpan()), what);
        return copy;
    }

    /// <summary>Waits for every rank.</summary>
    public void Barrier(string what)
    {
        using (_watchdog.Enter($"barrier ({what})", Step)) _world.Barrier(what);
    }

    public void Dispose()
    {
        _watchdog.Dispose();
        _buckets?.Dispose();
        _nccl?.Dispose();
    }
}
