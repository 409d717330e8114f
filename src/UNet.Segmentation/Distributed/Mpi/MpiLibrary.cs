using System.Runtime.InteropServices;
using System.Text;

namespace UNet.Segmentation.Distributed.Mpi;

/// <summary>
/// Open MPI's C API, reached with <see cref="NativeLibrary"/> (no native code of ours): the
/// functions as unmanaged function pointers, the predefined handles as the addresses of the
/// objects Open MPI exports (<c>MPI_COMM_WORLD</c> is <c>&amp;ompi_mpi_comm_world</c>, and so on).
/// MPICH-derived MPIs (MPICH, Intel MPI, MVAPICH, and Microsoft MPI, Windows' MPI) use integer
/// handles and other constants instead and are refused by name: on Windows before anything is
/// loaded, elsewhere by the library's name or its exports. Loaded once per process.
/// </summary>
internal sealed unsafe class MpiLibrary
{
    /// <summary>The environment variable naming libmpi's path, for an Open MPI outside the loader's search path.</summary>
    public const string PathVariable = "UNET_MPI_LIBRARY";

    /// <summary>Open MPI's <c>MPI_IN_PLACE</c>.</summary>
    public static readonly nint InPlace = 1;

    /// <summary>Open MPI's thread levels (mpi.h).</summary>
    public const int ThreadSingle = 0, ThreadFunneled = 1, ThreadSerialized = 2, ThreadMultiple = 3;

    private MpiLibrary(nint handle, string path)
    {
        Path = path;
        nint F(string name) => NativeLibrary.TryGetExport(handle, name, out var f) ? f
            : throw new CommunicationLibraryException($"{path} has no {name}: it is not a complete MPI library");
        if (!NativeLibrary.TryGetExport(handle, "ompi_mpi_comm_world", out var world))
            throw new CommunicationLibraryException(
                $"{path} is not Open MPI (it exports no ompi_mpi_comm_world); MPICH, Intel MPI and MVAPICH use integer handles, which this library does not support: use Open MPI 4.1 or newer");
        CommWorld = world;
        Float = F("ompi_mpi_float");
        Double = F("ompi_mpi_double");
        Byte = F("ompi_mpi_byte");
        Int64 = F("ompi_mpi_int64_t");
        Sum = F("ompi_mpi_op_sum");
        Max = F("ompi_mpi_op_max");
        ErrorsReturn = F("ompi_mpi_errors_return");
        Initialized = (delegate* unmanaged<int*, int>)F("MPI_Initialized");
        Finalized = (delegate* unmanaged<int*, int>)F("MPI_Finalized");
        InitThread = (delegate* unmanaged<int*, nint*, int, int*, int>)F("MPI_Init_thread");
        Finalize = (delegate* unmanaged<int>)F("MPI_Finalize");
        CommRank = (delegate* unmanaged<nint, int*, int>)F("MPI_Comm_rank");
        CommSize = (delegate* unmanaged<nint, int*, int>)F("MPI_Comm_size");
        CommSetErrhandler = (delegate* unmanaged<nint, nint, int>)F("MPI_Comm_set_errhandler");
        Bcast = (delegate* unmanaged<nint, int, nint, int, nint, int>)F("MPI_Bcast");
        Allreduce = (delegate* unmanaged<nint, nint, int, nint, nint, nint, int>)F("MPI_Allreduce");
        Barrier = (delegate* unmanaged<nint, int>)F("MPI_Barrier");
        Abort = (delegate* unmanaged<nint, int, int>)F("MPI_Abort");
        ErrorString = (delegate* unmanaged<int, byte*, int*, int>)F("MPI_Error_string");
        GetLibraryVersion = (delegate* unmanaged<byte*, int*, int>)F("MPI_Get_library_version");
    }

    /// <summary>The file loaded.</summary>
    public string Path { get; }

    public nint CommWorld { get; }
    public nint Float { get; }
    public nint Double { get; }
    public nint Byte { get; }
    public nint Int64 { get; }
    public nint Sum { get; }
    public nint Max { get; }
    public nint ErrorsReturn { get; }

    public delegate* unmanaged<int*, int> Initialized { get; }
    public delegate* unmanaged<int*, int> Finalized { get; }
    public delegate* unmanaged<int*, nint*, int, int*, int> InitThread { get; }
    public delegate* unmanaged<int> Finalize { get; }
    public delegate* unmanaged<nint, int*, int> CommRank { get; }
    public delegate* unmanaged<nint, int*, int> CommSize { get; }
    public delegate* unmanaged<nint, nint, int> CommSetErrhandler { get; }
    public delegate* unmanaged<nint, int, nint, int, nint, int> Bcast { get; }
    public delegate* unmanaged<nint, nint, int, nint, nint, nint, int> Allreduce { get; }
    public delegate* unmanaged<nint, int> Barrier { get; }
    public delegate* unmanaged<nint, int, int> Abort { get; }
    public delegate* unmanaged<int, byte*, int*, int> ErrorString { get; }
    public delegate* unmanaged<byte*, int*, int> GetLibraryVersion { get; }

    /// <summary>The file names tried, in order, when <see cref="PathVariable"/> is not set.</summary>
    public static readonly string[] Candidates = OperatingSystem.IsMacOS() ? ["libmpi.40.dylib", "libmpi.dylib"] : ["libmpi.so.40", "libmpi.so"];

    /// <summary>
    /// Loads libmpi once: the file <see cref="PathVariable"/> names, else the first of
    /// <see cref="Candidates"/> the loader finds. A missing or foreign library is a
    /// <see cref="CommunicationLibraryException"/> naming what was tried and how to install Open MPI.
    /// </summary>
    public static MpiLibrary Load()
    {
        if (Refusal(OperatingSystem.IsWindows(), Environment.GetEnvironmentVariable(PathVariable)) is { } refused) throw refused;
        return LoadOpenMpi();
    }

    /// <summary>
    /// The one-line refusal of an MPI this binding cannot speak, or null: on Windows (whose MPI is
    /// MS-MPI), or a library named like MS-MPI's or MPICH's (<paramref name="library"/>, from
    /// <see cref="PathVariable"/>). Open MPI's handles are pointers to exported objects; the MPICH
    /// ABI's are integers with different constants, so the same calls would pass wrong handles.
    /// </summary>
    internal static CommunicationLibraryException? Refusal(bool windows, string? library)
    {
        string name = System.IO.Path.GetFileName(library ?? "");
        if (windows)
            return new CommunicationLibraryException(
                "data-parallel training over MPI is not supported on Windows: Windows' MPI is Microsoft MPI (MS-MPI), an MPICH-ABI library (integer handles), and this binding speaks Open MPI's ABI (pointer handles) only; train in one process, or on Linux or macOS with Open MPI 4.1 or newer");
        if (name.Contains("msmpi", StringComparison.OrdinalIgnoreCase) || name.Contains("mpich", StringComparison.OrdinalIgnoreCase))
            return new CommunicationLibraryException(
                $"{library} is an MPICH-ABI library (MPICH, MS-MPI, Intel MPI and MVAPICH use integer handles), and this binding speaks Open MPI's ABI (pointer handles) only: set {PathVariable} to Open MPI 4.1 or newer's libmpi");
        return null;
    }

    private static MpiLibrary LoadOpenMpi() => NativeLibraries.Load(PathVariable, Candidates, candidates =>
        NativeLibraries.Open(candidates, (handle, path) => new MpiLibrary(handle, path),
            tried => $"MPI is not available: could not load {tried}. Install Open MPI (Debian/Ubuntu: apt install openmpi-bin libopenmpi-dev), or set {PathVariable} to the path of its libmpi.so",
            // Global symbols: Open MPI's plug-ins (mca_*.so) resolve libmpi's symbols from the process.
            load: OperatingSystem.IsWindows() ? null : DlopenGlobal));

    /// <summary>MPI's text for an error code.</summary>
    public string Describe(int code)
    {
        var buffer = stackalloc byte[512];
        int length = 0;
        if (ErrorString(code, buffer, &length) != 0 || length <= 0) return $"MPI error {code}";
        return $"{Encoding.ASCII.GetString(buffer, Math.Min(length, 511))} (MPI error {code})";
    }

    /// <summary>The library's name and version, the first part of <c>MPI_Get_library_version</c>'s line.</summary>
    public string Version()
    {
        var buffer = stackalloc byte[8192];
        int length = 0;
        if (GetLibraryVersion(buffer, &length) != 0) return "unknown";
        // "Open MPI v4.1.4, package: Debian OpenMPI, ident: ..., repo rev: ..." → "Open MPI v4.1.4".
        return Encoding.ASCII.GetString(buffer, Math.Clamp(length, 0, 8191)).Split('\n')[0].Split(',')[0].Trim('\0', ' ');
    }

    private const int RtldNow = 2, RtldGlobal = 0x100;

    [DllImport("libc", EntryPoint = "dlopen")]
    private static extern nint Dlopen([MarshalAs(UnmanagedType.LPUTF8Str)] string file, int mode);

    private static nint DlopenGlobal(string file)
    {
        try
        {
            return Dlopen(file, RtldNow | RtldGlobal);
        }
        catch (EntryPointNotFoundException)
        {
            return 0;
        }
        catch (DllNotFoundException)
        {
            return 0;
        }
    }
}
