using UNet.Segmentation.Distributed.Mpi;

namespace UNet.Segmentation.Distributed.Nccl;

/// <summary>
/// An NCCL communicator over one CUDA device per rank (NVIDIA's libnccl, loaded with
/// <see cref="System.Runtime.InteropServices.NativeLibrary"/>; NCCL 2.10 or newer): in-place
/// all-reduces and broadcasts of CUDA memory, enqueued on CUDA's default stream (stream 0, where
/// TorchSharp runs). Rank 0 makes the communicator's unique id and every rank receives it through
/// a broadcast of the caller's (MPI, or any other channel). Errors are raised as
/// <see cref="DistributedException"/> naming the rank, the call and NCCL's text.
/// <see cref="CheckAsyncError"/> and <see cref="Abort"/> may be called from a watchdog thread
/// while a collective is in flight on another; <c>ncclCommAbort</c> is what ends a hung one.
/// </summary>
public sealed unsafe class NcclCommunicator : IDisposable
{
    private const int Live = 0, Aborted = 1, Disposed = 2;

    private readonly NcclLibrary _nccl;
    private readonly object _gate = new();
    private nint _comm;
    private int _state;
    private string? _abortReason;

    private NcclCommunicator(NcclLibrary nccl, nint comm, int rank, int size, int? cudaDevice)
    {
        _nccl = nccl;
        _comm = comm;
        Rank = rank;
        Size = size;
        CudaDevice = cudaDevice;
    }

    /// <summary>This process's rank in the communicator, 0..Size−1.</summary>
    public int Rank { get; }

    /// <summary>The number of ranks (one CUDA device each).</summary>
    public int Size { get; }

    /// <summary>The CUDA device the communicator was made on, or null when it was the calling thread's current device.</summary>
    public int? CudaDevice { get; }

    /// <summary>The NCCL version loaded, e.g. "2.21.5".</summary>
    public string Version => _nccl.Version;

    /// <summary>The path of the libnccl loaded.</summary>
    public string LibraryPath => _nccl.Path;

    /// <summary>
    /// Makes this rank's communicator: rank 0 asks NCCL for a unique id, whose 128 bytes
    /// <paramref name="broadcastUniqueIdFromRank0"/> must copy, in place, from rank 0 to every rank;
    /// then, when <paramref name="cudaDevice"/> has a value, that device becomes the calling
    /// thread's current one, and <c>ncclCommInitRank</c> joins the communicator on the current
    /// device (every rank must call this). Throws <see cref="CommunicationLibraryException"/> when
    /// libnccl (or libcudart, for a device) cannot be loaded, and <see cref="DistributedException"/>
    /// when a call fails.
    /// </summary>
    /// <param name="rank">This process's rank, 0..<paramref name="size"/>−1.</param>
    /// <param name="size">The number of ranks, at least 1.</param>
    /// <param name="broadcastUniqueIdFromRank0">Copies the byte array it is given from rank 0 to every rank, in place.</param>
    /// <param name="cudaDevice">The CUDA device for this rank, or null to use the calling thread's current device.</param>
    public static NcclCommunicator Create(int rank, int size, Action<byte[]> broadcastUniqueIdFromRank0, int? cudaDevice) =>
        Create(NcclLibrary.Load(), CudaRuntime.Load, rank, size, broadcastUniqueIdFromRank0, cudaDevice);

    /// <summary>
    /// Makes the communicator of an MPI job: one rank per MPI process, the unique id broadcast
    /// with MPI from rank 0, on CUDA device <paramref name="cudaDevice"/> (usually
    /// <see cref="MpiWorld.LocalRank"/>). Every rank must call it.
    /// </summary>
    /// <param name="world">The MPI job.</param>
    /// <param name="cudaDevice">The CUDA device for this rank.</param>
    public static NcclCommunicator Create(MpiWorld world, int cudaDevice)
    {
        ArgumentNullException.ThrowIfNull(world);
        return Create(world.Rank, world.Size, id => world.Broadcast(id, "NCCL unique id"), cudaDevice);
    }

    /// <summary>The same as the public <c>Create</c>, with the libraries given (tests hand in stand-ins).</summary>
    internal static NcclCommunicator Create(NcclLibrary nccl, Func<CudaRuntime> cudaRuntime, int rank, int size, Action<byte[]> broadcastUniqueIdFromRank0, int? cudaDevice)
    {
        ArgumentNullException.ThrowIfNull(nccl);
        ArgumentNullException.ThrowIfNull(cudaRuntime);
        ArgumentNullException.ThrowIfNull(broadcastUniqueIdFromRank0);
        if (size < 1) throw new ArgumentOutOfRangeException(nameof(size), size, "size must be at least 1");
        if (rank < 0 || rank >= size) throw new ArgumentOutOfRangeException(nameof(rank), rank, $"rank must lie in 0..{size - 1}");
        if (cudaDevice < 0) throw new ArgumentOutOfRangeException(nameof(cudaDevice), cudaDevice, "cudaDevice must not be negative");

        NcclUniqueId id = default;
        if (rank == 0) Check(nccl, nccl.GetUniqueId(&id), rank, "ncclGetUniqueId", "the communicator's unique id");
        var bytes = new Span<byte>(id.Internal, NcclUniqueId.Bytes).ToArray();
        broadcastUniqueIdFromRank0(bytes);
        bytes.CopyTo(new Span<byte>(id.Internal, NcclUniqueId.Bytes));

        if (cudaDevice is int device)
        {
            var cuda = cudaRuntime();
            int code = cuda.SetDevice(device);
            if (code != 0)
                throw new DistributedException($"rank {rank}: cudaSetDevice({device}) failed: {cuda.Describe(code)}", rank, $"cudaSetDevice({device})");
            int current = -1;
            code = cuda.GetDevice(&current);
            if (code != 0 || current != device)
                throw new DistributedException(
                    $"rank {rank}: CUDA device {device} was set but cudaGetDevice says {(code != 0 ? cuda.Describe(code) : $"device {current}")}",
                    rank, "cudaGetDevice");
        }

        nint comm = 0;
        Check(nccl, nccl.CommInitRank(&comm, size, id, rank), rank, "ncclCommInitRank", $"a communicator of {size} ranks");
        return new NcclCommunicator(nccl, comm, rank, size, cudaDevice);
    }

    /// <summary>Replaces each of <paramref name="count"/> float32 values at the CUDA address <paramref name="deviceBuffer"/> by its mean over all ranks (<c>ncclAvg</c>).</summary>
    /// <param name="deviceBuffer">The values, in CUDA memory.</param>
    /// <param name="count">The number of values.</param>
    /// <param name="what">What the values are, for error messages (e.g. "gradient bucket 2 of 3").</param>
    public void AllReduceAverageFloat32(nint deviceBuffer, long count, string what) =>
        AllReduce(deviceBuffer, count, NcclReduction.Avg, what);

    /// <summary>Replaces each of <paramref name="count"/> float32 values at the CUDA address <paramref name="deviceBuffer"/> by its maximum over all ranks (<c>ncclMax</c>).</summary>
    /// <param name="deviceBuffer">The values, in CUDA memory.</param>
    /// <param name="count">The number of values.</param>
    /// <param name="what">What the values are, for error messages.</param>
    public void AllReduceMaxFloat32(nint deviceBuffer, long count, string what) =>
        AllReduce(deviceBuffer, count, NcclReduction.Max, what);

    /// <summary>Copies <paramref name="bytes"/> bytes at the CUDA address <paramref name="deviceBuffer"/> from <paramref name="root"/> to every rank, in place.</summary>
    /// <param name="deviceBuffer">The bytes, in CUDA memory.</param>
    /// <param name="bytes">The number of bytes.</param>
    /// <param name="root">The rank whose bytes every rank receives.</param>
    /// <param name="what">What the bytes are, for error messages.</param>
    public void Broadcast(nint deviceBuffer, long bytes, int root, string what)
    {
        if (root < 0 || root >= Size) throw new ArgumentOutOfRangeException(nameof(root), root, $"root must lie in 0..{Size - 1}");
        if (!Validate(deviceBuffer, bytes, nameof(bytes))) return;
        nint comm = Enter("ncclBroadcast", what);
        Check(_nccl.Broadcast(deviceBuffer, deviceBuffer, (nuint)bytes, NcclDataType.Uint8, root, comm, 0), "ncclBroadcast", what);
    }

    /// <summary>
    /// Asks NCCL whether the communicator has failed in the background (a peer gone, a network
    /// error). On an error it aborts the communicator (so a collective blocked on it returns) and
    /// throws a <see cref="DistributedException"/> naming this rank and NCCL's text. Safe to call
    /// from a watchdog thread while a collective runs on another.
    /// </summary>
    public void CheckAsyncError()
    {
        string message;
        lock (_gate)
        {
            nint comm = EnterLocked("ncclCommGetAsyncError", "the communicator's state");
            NcclResult asyncError = NcclResult.Success;
            NcclResult code = _nccl.CommGetAsyncError(comm, &asyncError);
            if (code == NcclResult.Success && asyncError is NcclResult.Success or NcclResult.InProgress) return;
            string problem = code != NcclResult.Success
                ? $"ncclCommGetAsyncError failed: {_nccl.Describe(code)}"
                : $"NCCL reported an asynchronous error: {_nccl.Describe(asyncError)}";
            NcclResult aborted = AbortLocked(problem);
            message = $"rank {Rank}: {problem}; the communicator was aborted" +
                (aborted == NcclResult.Success ? "" : $" (ncclCommAbort failed too: {_nccl.Describe(aborted)})");
        }
        throw new DistributedException(message, Rank, "NCCL asynchronous error check");
    }

    /// <summary>
    /// Aborts the communicator (<c>ncclCommAbort</c>): operations in flight on it end, and every
    /// later call on it throws. Idempotent, callable from any thread; does nothing after
    /// <see cref="Dispose"/>.
    /// </summary>
    public void Abort()
    {
        NcclResult code;
        lock (_gate)
        {
            if (_state != Live) return;
            code = AbortLocked("Abort() was called");
        }
        if (code != NcclResult.Success)
            throw new DistributedException($"rank {Rank}: NCCL ncclCommAbort failed: {_nccl.Describe(code)}", Rank, "ncclCommAbort");
    }

    /// <summary>
    /// Destroys the communicator (<c>ncclCommDestroy</c>, which waits for its operations), once;
    /// after <see cref="Abort"/> there is nothing left to destroy. When NCCL reports an asynchronous
    /// error, the communicator is aborted instead, since its operations would never finish.
    /// </summary>
    public void Dispose()
    {
        lock (_gate)
        {
            int state = _state;
            _state = Disposed;
            if (state != Live) return;
            NcclResult asyncError = NcclResult.Success;
            bool failed = _nccl.CommGetAsyncError(_comm, &asyncError) != NcclResult.Success
                || asyncError is not (NcclResult.Success or NcclResult.InProgress);
            // Dispose does not throw: a failed destroy or abort leaves nothing the caller could do.
            _ = failed ? _nccl.CommAbort(_comm) : _nccl.CommDestroy(_comm);
            _comm = 0;
        }
    }

    private void AllReduce(nint deviceBuffer, long count, NcclReduction reduction, string what)
    {
        if (!Validate(deviceBuffer, count, nameof(count))) return;
        nint comm = Enter("ncclAllReduce", what);
        Check(_nccl.AllReduce(deviceBuffer, deviceBuffer, (nuint)count, NcclDataType.Float32, reduction, comm, 0), "ncclAllReduce", what);
    }

    /// <summary>Checks a buffer's arguments; false when there is nothing to do (every rank passes the same count).</summary>
    private static bool Validate(nint buffer, long count, string countName)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count, countName);
        if (count == 0) return false;
        if (buffer == 0) throw new ArgumentException("the buffer address is null", "deviceBuffer");
        return true;
    }

    /// <summary>
    /// The communicator's handle for a call outside the lock: collectives do not hold it while NCCL
    /// runs, so the watchdog's <see cref="CheckAsyncError"/> and <see cref="Abort"/> are never
    /// blocked behind a hung collective (NCCL's abort is what releases that collective).
    /// </summary>
    private nint Enter(string call, string what)
    {
        lock (_gate) return EnterLocked(call, what);
    }

    private nint EnterLocked(string call, string what)
    {
        if (_state == Disposed) throw new ObjectDisposedException(nameof(NcclCommunicator), $"rank {Rank}: {call} of {what} on a disposed NCCL communicator");
        if (_state == Aborted)
            throw new DistributedException($"rank {Rank}: NCCL {call} of {what} refused: the communicator was aborted ({_abortReason})", Rank, $"{call} of {what}");
        return _comm;
    }

    private NcclResult AbortLocked(string reason)
    {
        _state = Aborted;
        _abortReason = reason;
        NcclResult code = _nccl.CommAbort(_comm);
        _comm = 0;
        return code;
    }

    private void Check(NcclResult code, string call, string what) => Check(_nccl, code, Rank, call, what);

    private static void Check(NcclLibrary nccl, NcclResult code, int rank, string call, string what)
    {
        if (code == NcclResult.Success) return;
        throw new DistributedException($"rank {rank}: NCCL {call} of {what} failed: {nccl.Describe(code)}", rank, $"{call} of {what}");
    }
}
