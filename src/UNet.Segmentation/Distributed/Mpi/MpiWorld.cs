using System.Collections;
using System.Globalization;
using UNet.Segmentation.Inference.Streaming;

namespace UNet.Segmentation.Distributed.Mpi;

/// <summary>
/// This process's place in an MPI job (<c>MPI_COMM_WORLD</c> of Open MPI, loaded with
/// <see cref="System.Runtime.InteropServices.NativeLibrary"/>): rank, size, and the collectives a
/// data-parallel trainer needs on CPU memory (broadcast, in-place all-reduce, barrier, abort).
/// Start the processes with <c>mpirun -np N</c> (or <c>srun --mpi=pmix</c>); without a launcher
/// MPI makes a world of one. MPI can be initialised once per process: <see cref="Initialize"/>
/// returns the same world until it is disposed (<c>MPI_Finalize</c>), after which it throws.
/// Errors are returned, not fatal (<c>MPI_ERRORS_RETURN</c>), and raised as
/// <see cref="DistributedException"/> naming the rank and the collective. It is also the group of
/// processes that share a streaming prediction (<see cref="IPageRanks"/>).
/// </summary>
public sealed unsafe class MpiWorld : IDisposable, IPageRanks
{
    private static readonly object Gate = new();
    private static MpiWorld? _current;
    private static bool _finalized;
    private readonly MpiLibrary _mpi;
    private int _disposed;

    /// <summary>Broadcasts and all-reduces go in pieces of at most this many elements (MPI counts are 32-bit).</summary>
    internal const int MaxChunkElements = 1 << 28;

    private MpiWorld(MpiLibrary mpi, int rank, int size, int threadLevel)
    {
        _mpi = mpi;
        Rank = rank;
        Size = size;
        ThreadLevel = threadLevel;
        LocalRank = LocalRankFrom(Environment.GetEnvironmentVariables()) ?? rank;
        LibraryVersion = mpi.Version();
    }

    /// <summary>This process's rank, 0..Size−1.</summary>
    public int Rank { get; }

    /// <summary>The number of processes in the job.</summary>
    public int Size { get; }

    /// <summary>The rank among the processes on this machine (the launcher's local rank; picks the CUDA device).</summary>
    public int LocalRank { get; }

    /// <summary>The thread level MPI granted (3 = <c>MPI_THREAD_MULTIPLE</c>, which the watchdog's abort wants).</summary>
    public int ThreadLevel { get; }

    /// <summary>The MPI library's version line, e.g. "Open MPI v4.1.4".</summary>
    public string LibraryVersion { get; }

    /// <summary>The path of the libmpi loaded.</summary>
    public string LibraryPath => _mpi.Path;

    internal MpiLibrary Library => _mpi;

    /// <summary>
    /// Initialises MPI (thread level <c>MPI_THREAD_MULTIPLE</c> asked for) and returns this
    /// process's world; later calls return the same world. Throws
    /// <see cref="CommunicationLibraryException"/> when libmpi is missing or not Open MPI, and
    /// <see cref="InvalidOperationException"/> after the world was disposed.
    /// </summary>
    public static MpiWorld Initialize()
    {
        lock (Gate)
        {
            if (_current is not null) return _current;
            if (_finalized) throw new InvalidOperationException("MPI was finalized in this process and cannot be initialized again (MPI allows one MPI_Init per process)");
            var mpi = MpiLibrary.Load();
            int flag = 0, provided = 0;
            Check(mpi, mpi.Initialized(&flag), -1, "MPI_Initialized");
            if (flag == 0) Check(mpi, mpi.InitThread(null, null, MpiLibrary.ThreadMultiple, &provided), -1, "MPI_Init_thread");
            else provided = MpiLibrary.ThreadSerialized;
            Check(mpi, mpi.CommSetErrhandler(mpi.CommWorld, mpi.ErrorsReturn), -1, "MPI_Comm_set_errhandler");
            int rank = 0, size = 0;
            Check(mpi, mpi.CommRank(mpi.CommWorld, &rank), -1, "MPI_Comm_rank");
            Check(mpi, mpi.CommSize(mpi.CommWorld, &size), rank, "MPI_Comm_size");
            return _current = new MpiWorld(mpi, rank, size, provided);
        }
    }

    /// <summary>
    /// Throws <see cref="CommunicationLibraryException"/> with one line saying why when this
    /// platform's MPI cannot be used — on Windows, MS-MPI, whose MPICH ABI this binding does not
    /// speak — before any process is started; <see cref="Initialize"/> refuses it the same way.
    /// </summary>
    public static void ThrowIfUnsupported()
    {
        if (MpiLibrary.Refusal(OperatingSystem.IsWindows(), Environment.GetEnvironmentVariable(MpiLibrary.PathVariable)) is { } refused) throw refused;
    }

    /// <summary>
    /// True when an MPI launcher started this process: Open MPI's mpirun (OMPI_COMM_WORLD_SIZE),
    /// PMIx (PMIX_RANK: Slurm's <c>srun --mpi=pmix</c>, PRRTE) or PMI (PMI_RANK).
    /// </summary>
    public static bool IsLaunchedByMpi(IDictionary? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariables();
        return new[] { "OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK" }.Any(v => environment[v] is string s && s.Length > 0);
    }

    /// <summary>The local rank a launcher set (OMPI_COMM_WORLD_LOCAL_RANK, SLURM_LOCALID or MPI_LOCALRANKID), or null.</summary>
    internal static int? LocalRankFrom(IDictionary environment)
    {
        foreach (var name in new[] { "OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID", "MPI_LOCALRANKID" })
            if (environment[name] is string s && int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out int v))
                return v;
        return null;
    }

    /// <summary>Copies <paramref name="bytes"/> bytes at <paramref name="buffer"/> from <paramref name="root"/> to every rank.</summary>
    public void Broadcast(nint buffer, long bytes, string what, int root = 0)
    {
        ThrowIfDisposed();
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        if (root < 0 || root >= Size) throw new ArgumentOutOfRangeException(nameof(root), root, $"root must lie in 0..{Size - 1}");
        for (long offset = 0; offset < bytes; offset += MaxChunkElements)
        {
            int count = (int)Math.Min(MaxChunkElements, bytes - offset);
            Check(_mpi, _mpi.Bcast(buffer + (nint)offset, count, _mpi.Byte, root, _mpi.CommWorld), Rank, $"broadcast of {what}");
        }
    }

    /// <summary>Copies <paramref name="data"/> from <paramref name="root"/> to every rank.</summary>
    public void Broadcast(Span<byte> data, string what, int root = 0)
    {
        fixed (byte* p = data) Broadcast((nint)p, data.Length, what, root);
    }

    /// <summary>Replaces each of <paramref name="count"/> float32 values at <paramref name="buffer"/> by its sum over all ranks.</summary>
    public void AllReduceSumFloat32(nint buffer, long count, string what) => AllReduce(buffer, count, sizeof(float), _mpi.Float, _mpi.Sum, what);

    /// <summary>Replaces each of <paramref name="data"/>'s values by its sum over all ranks.</summary>
    public void AllReduceSum(Span<double> data, string what)
    {
        fixed (double* p = data) AllReduce((nint)p, data.Length, sizeof(double), _mpi.Double, _mpi.Sum, what);
    }

    /// <summary>Replaces each of <paramref name="data"/>'s values by its maximum over all ranks.</summary>
    public void AllReduceMax(Span<long> data, string what)
    {
        fixed (long* p = data) AllReduce((nint)p, data.Length, sizeof(long), _mpi.Int64, _mpi.Max, what);
    }

    /// <summary>Whether every rank passed true (an all-reduce of the failures: every rank calls it).</summary>
    public bool AllSucceeded(bool succeeded, string what)
    {
        Span<long> failed = [succeeded ? 0 : 1];
        AllReduceMax(failed, what);
        return failed[0] == 0;
    }

    /// <summary>Waits until every rank has called it.</summary>
    public void Barrier(string what)
    {
        ThrowIfDisposed();
        Check(_mpi, _mpi.Barrier(_mpi.CommWorld), Rank, $"barrier ({what})");
    }

    /// <summary>
    /// Ends every process of the job with <paramref name="exitCode"/> (<c>MPI_Abort</c>); safe from
    /// any thread when <see cref="ThreadLevel"/> is <c>MPI_THREAD_MULTIPLE</c>. Does not return when
    /// MPI honours it; the process exits with the code if it does not.
    /// </summary>
    public void Abort(int exitCode)
    {
        if (Volatile.Read(ref _disposed) == 0) _mpi.Abort(_mpi.CommWorld, exitCode);
        Environment.Exit(exitCode);
    }

    private void AllReduce(nint buffer, long count, int elementSize, nint type, nint op, string what)
    {
        ThrowIfDisposed();
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        for (long offset = 0; offset < count; offset += MaxChunkElements)
        {
            int n = (int)Math.Min(MaxChunkElements, count - offset);
            Check(_mpi, _mpi.Allreduce(MpiLibrary.InPlace, buffer + (nint)(offset * elementSize), n, type, op, _mpi.CommWorld), Rank, $"all-reduce of {what}");
        }
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

    private static void Check(MpiLibrary mpi, int code, int rank, string call)
    {
        if (code == 0) return;
        string who = rank >= 0 ? $"rank {rank}: " : "";
        throw new DistributedException($"{who}{call} failed: {mpi.Describe(code)}", rank, call);
    }

    /// <summary>Finalizes MPI (once; every rank must call it). MPI cannot be initialised again in this process.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        lock (Gate)
        {
            int finalized = 0;
            _mpi.Finalized(&finalized);
            if (finalized == 0) _mpi.Finalize();
            _current = null;
            _finalized = true;
        }
    }
}
