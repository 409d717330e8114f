using UNet.Segmentation.Torch.Native;
using static UNet.Segmentation.Torch.Native.NativeMethods;
using static UNet.Segmentation.Torch.Native.NativeStatus;

namespace UNet.Segmentation.Torch.Distributed;

/// <summary>The collective-communication library of a <see cref="ProcessGroup"/>.</summary>
public enum Backend
{
    /// <summary>Gloo: CPU tensors over TCP; in every build.</summary>
    Gloo = 0,
    /// <summary>NCCL: CUDA tensors; only in a shim built against a CUDA libtorch with nccl.h.</summary>
    Nccl = 1,
}

/// <summary>
/// One rank's membership in a c10d process group (one process per device, as torchrun): the
/// collectives a data-parallel trainer needs, each over a whole list of tensors in one native
/// call (packed into buckets, one collective per bucket). Every collective waits at most
/// <see cref="Timeout"/>; a dead or hung peer makes it throw <see cref="DistributedException"/>
/// naming the ranks responsible, after which the group refuses further collectives. Each rank
/// must call the same collectives in the same order with tensors of the same shapes.
/// </summary>
public sealed class ProcessGroup : IDisposable
{
    /// <summary>The default bucket size of the bucketed collectives (PyTorch DDP's default, 25 MiB).</summary>
    public const long DefaultBucketBytes = 25L << 20;

    private readonly ProcessGroupHandle _handle;

    private ProcessGroup(ProcessGroupHandle handle, Backend backend, int rank, int worldSize, TimeSpan timeout)
    {
        _handle = handle;
        Backend = backend;
        Rank = rank;
        WorldSize = worldSize;
        Timeout = timeout;
    }

    /// <summary>Joins rank <paramref name="rank"/> of <paramref name="worldSize"/> over <paramref name="store"/>; returns when every rank has joined.</summary>
    /// <exception cref="DistributedBackendUnavailableException">The backend is not compiled into this shim.</exception>
    /// <exception cref="DistributedException">Not every rank joined within <paramref name="timeout"/>.</exception>
    public static ProcessGroup Create(Store store, Backend backend, int rank, int worldSize, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(store);
        if (!Enum.IsDefined(backend)) throw new ArgumentOutOfRangeException(nameof(backend), backend, "unknown backend");
        ArgumentOutOfRangeException.ThrowIfLessThan(worldSize, 1);
        if (rank < 0 || rank >= worldSize) throw new ArgumentOutOfRangeException(nameof(rank), rank, $"the rank must lie in 0..{worldSize - 1}");
        long ms = Store.Milliseconds(timeout);
        Check(uts_process_group_create(store.Handle, (int)backend, rank, worldSize, ms, out var raw));
        return new ProcessGroup(new ProcessGroupHandle(raw), backend, rank, worldSize, timeout);
    }

    /// <summary>Whether this build of the native shim has <paramref name="backend"/>.</summary>
    public static bool IsAvailable(Backend backend)
    {
        Check(uts_distributed_backend_available((int)backend, out byte available));
        return available != 0;
    }

    /// <summary>Native stores and process groups alive now (leak tests).</summary>
    public static long LiveNativeObjects => uts_live_distributed_objects();

    /// <summary>The backend.</summary>
    public Backend Backend { get; }

    /// <summary>This process's rank.</summary>
    public int Rank { get; }

    /// <summary>The number of ranks.</summary>
    public int WorldSize { get; }

    /// <summary>How long one collective may wait.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>Replaces each tensor (floating point) by its mean over the ranks, in place.</summary>
    public unsafe void AllReduceMean(IReadOnlyList<Tensor> tensors, long bucketBytes = DefaultBucketBytes)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        ArgumentOutOfRangeException.ThrowIfLessThan(bucketBytes, 1);
        using var lease = new HandleArrayLease(tensors);
        fixed (IntPtr* p = lease.Values) Run(uts_allreduce_mean(_handle, p, lease.Values.Length, bucketBytes));
    }

    /// <summary>
    /// Replaces the gradient of each parameter by its mean over the ranks, in place: what
    /// data-parallel training does between backward and the optimizer step. A parameter without
    /// a gradient takes part with zeros (and keeps them).
    /// </summary>
    public unsafe void AllReduceGradientsMean(IReadOnlyList<Tensor> parameters, long bucketBytes = DefaultBucketBytes)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentOutOfRangeException.ThrowIfLessThan(bucketBytes, 1);
        using var lease = new HandleArrayLease(parameters);
        fixed (IntPtr* p = lease.Values) Run(uts_allreduce_grads_mean(_handle, p, lease.Values.Length, bucketBytes));
    }

    /// <summary>Copies rank <paramref name="root"/>'s values of the tensors into every rank's, in place and without autograd (parameters included).</summary>
    public unsafe void Broadcast(IReadOnlyList<Tensor> tensors, int root = 0, long bucketBytes = DefaultBucketBytes)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        if (root < 0 || root >= WorldSize) throw new ArgumentOutOfRangeException(nameof(root), root, $"the root must lie in 0..{WorldSize - 1}");
        ArgumentOutOfRangeException.ThrowIfLessThan(bucketBytes, 1);
        using var lease = new HandleArrayLease(tensors);
        fixed (IntPtr* p = lease.Values) Run(uts_broadcast(_handle, p, lease.Values.Length, root, bucketBytes));
    }

    /// <summary>Returns once every rank has called it.</summary>
    public void Barrier() => Run(uts_barrier(_handle));

    private unsafe void Run(int status)
    {
        if (status == Ok) return;
        if (status != DistributedError) Check(status);
        string message = LastError();
        int* ranks = stackalloc int[64];
        int[] suspects = uts_process_group_suspects(_handle, ranks, 64, out int count) == Ok
            ? new ReadOnlySpan<int>(ranks, count).ToArray() : [];
        throw new DistributedException(message, Rank, WorldSize, suspects);
    }

    /// <summary>Leaves the group (stops its heartbeat); do it before disposing the store.</summary>
    public void Dispose() => _handle.Dispose();
}
