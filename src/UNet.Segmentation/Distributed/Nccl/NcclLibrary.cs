using System.Runtime.InteropServices;

namespace UNet.Segmentation.Distributed.Nccl;

/// <summary>
/// NVIDIA's NCCL C API (nccl.h), reached with <see cref="NativeLibrary"/> (no native code of ours):
/// the functions a data-parallel trainer needs, as unmanaged function pointers. NCCL 2.10 or newer
/// is required (<c>ncclAvg</c>). <see cref="Load()"/> keeps the library it loaded for each value of
/// <see cref="PathVariable"/>; <see cref="Load(string)"/> loads a given file afresh.
/// </summary>
internal sealed unsafe class NcclLibrary
{
    /// <summary>The environment variable naming libnccl's path, for an NCCL outside the loader's search path.</summary>
    public const string PathVariable = "UNET_NCCL_LIBRARY";

    /// <summary>The oldest NCCL accepted, as <c>ncclGetVersion</c> codes it: 2.10.0, the first with <c>ncclAvg</c>.</summary>
    public const int MinimumVersionCode = 21000;

    /// <summary>The file names tried, in order, when <see cref="PathVariable"/> is not set.</summary>
    public static readonly string[] Candidates = ["libnccl.so.2", "libnccl.so"];


    private NcclLibrary(nint handle, string path)
    {
        Path = path;
        nint F(string name) => NativeLibrary.TryGetExport(handle, name, out var f) ? f
            : throw new CommunicationLibraryException($"{path} has no {name}: it is not a complete NCCL library (NCCL {MinimumVersion} or newer is needed)");
        GetVersion = (delegate* unmanaged<int*, NcclResult>)F("ncclGetVersion");
        GetUniqueId = (delegate* unmanaged<NcclUniqueId*, NcclResult>)F("ncclGetUniqueId");
        CommInitRank = (delegate* unmanaged<nint*, int, NcclUniqueId, int, NcclResult>)F("ncclCommInitRank");
        AllReduce = (delegate* unmanaged<nint, nint, nuint, NcclDataType, NcclReduction, nint, nint, NcclResult>)F("ncclAllReduce");
        Broadcast = (delegate* unmanaged<nint, nint, nuint, NcclDataType, int, nint, nint, NcclResult>)F("ncclBroadcast");
        CommGetAsyncError = (delegate* unmanaged<nint, NcclResult*, NcclResult>)F("ncclCommGetAsyncError");
        CommAbort = (delegate* unmanaged<nint, NcclResult>)F("ncclCommAbort");
        CommDestroy = (delegate* unmanaged<nint, NcclResult>)F("ncclCommDestroy");
        GetErrorString = (delegate* unmanaged<NcclResult, byte*>)F("ncclGetErrorString");

        int code = 0;
        NcclResult result = GetVersion(&code);
        if (result != NcclResult.Success)
            throw new CommunicationLibraryException($"{path}: ncclGetVersion failed: {Describe(result)}");
        VersionCode = code;
        Version = VersionText(code);
        if (code < MinimumVersionCode)
            throw new CommunicationLibraryException(
                $"{path} is NCCL {Version}, too old: the averaging all-reduce (ncclAvg) needs NCCL {MinimumVersion} or newer. {WhereToGetIt}");
    }

    /// <summary>The file loaded.</summary>
    public string Path { get; }

    /// <summary>The version as <c>ncclGetVersion</c> codes it, e.g. 22105.</summary>
    public int VersionCode { get; }

    /// <summary>The version, e.g. "2.21.5".</summary>
    public string Version { get; }

    public delegate* unmanaged<int*, NcclResult> GetVersion { get; }
    public delegate* unmanaged<NcclUniqueId*, NcclResult> GetUniqueId { get; }
    /// <summary><c>ncclCommInitRank(ncclComm_t*, int nranks, ncclUniqueId commId, int rank)</c>: the id goes by value.</summary>
    public delegate* unmanaged<nint*, int, NcclUniqueId, int, NcclResult> CommInitRank { get; }
    /// <summary><c>ncclAllReduce(sendbuff, recvbuff, size_t count, datatype, op, comm, stream)</c>.</summary>
    public delegate* unmanaged<nint, nint, nuint, NcclDataType, NcclReduction, nint, nint, NcclResult> AllReduce { get; }
    /// <summary><c>ncclBroadcast(sendbuff, recvbuff, size_t count, datatype, int root, comm, stream)</c>.</summary>
    public delegate* unmanaged<nint, nint, nuint, NcclDataType, int, nint, nint, NcclResult> Broadcast { get; }
    public delegate* unmanaged<nint, NcclResult*, NcclResult> CommGetAsyncError { get; }
    public delegate* unmanaged<nint, NcclResult> CommAbort { get; }
    public delegate* unmanaged<nint, NcclResult> CommDestroy { get; }
    public delegate* unmanaged<NcclResult, byte*> GetErrorString { get; }

    private static string MinimumVersion => VersionText(MinimumVersionCode);

    private static string WhereToGetIt =>
        "libnccl.so.2 comes with NVIDIA's libnccl2 package (CUDA apt repository: apt install libnccl2), the CUDA toolkit or HPC SDK, " +
        "or the nvidia-nccl-cu12 pip wheel (its nvidia/nccl/lib/libnccl.so.2); " +
        $"set {PathVariable} to its path when it is outside the loader's search path";

    /// <summary>
    /// Loads libnccl: the file <see cref="PathVariable"/> names, else the first of
    /// <see cref="Candidates"/> the loader finds; the same library is returned for the same value of
    /// the variable. A missing, incomplete or too old library is a <see cref="CommunicationLibraryException"/>
    /// naming what was tried and where libnccl comes from.
    /// </summary>
    public static NcclLibrary Load() => NativeLibraries.Load(PathVariable, Candidates, Open);

    /// <summary>Loads the libnccl at <paramref name="path"/>, not cached (tests load a stand-in this way).</summary>
    public static NcclLibrary Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        return Open([path]);
    }

    private static NcclLibrary Open(IReadOnlyList<string> candidates) =>
        NativeLibraries.Open(candidates, (handle, path) => new NcclLibrary(handle, path), tried => $"NCCL is not available: could not load {tried}. {WhereToGetIt}");

    /// <summary>NCCL's text for a result code, with the code and its name, e.g. "invalid usage (ncclResult 5, ncclInvalidUsage)".</summary>
    public string Describe(NcclResult code)
    {
        byte* text = GetErrorString(code);
        string message = text is null ? "no description" : Marshal.PtrToStringUTF8((nint)text) ?? "no description";
        return $"{message} (ncclResult {(int)code}, {Name(code)})";
    }

    /// <summary>The nccl.h name of a result code, e.g. "ncclRemoteError".</summary>
    public static string Name(NcclResult code) => Enum.IsDefined(code) ? $"nccl{code}" : "unknown ncclResult";

    /// <summary>"major.minor.patch" from an <c>ncclGetVersion</c> code (major*10000+minor*100+patch since 2.9, major*1000+minor*100+patch before).</summary>
    public static string VersionText(int code) => code >= 10000
        ? $"{code / 10000}.{code % 10000 / 100}.{code % 100}"
        : $"{code / 1000}.{code % 1000 / 100}.{code % 100}";
}

/// <summary>nccl.h's <c>ncclResult_t</c>.</summary>
internal enum NcclResult
{
    Success = 0,
    UnhandledCudaError = 1,
    SystemError = 2,
    InternalError = 3,
    InvalidArgument = 4,
    InvalidUsage = 5,
    RemoteError = 6,
    InProgress = 7,
}

/// <summary>nccl.h's <c>ncclDataType_t</c>.</summary>
internal enum NcclDataType
{
    Int8 = 0,
    Uint8 = 1,
    Int32 = 2,
    Uint32 = 3,
    Int64 = 4,
    Uint64 = 5,
    Float16 = 6,
    Float32 = 7,
    Float64 = 8,
    Bfloat16 = 9,
}

/// <summary>nccl.h's <c>ncclRedOp_t</c> (the built-in reductions; <c>ncclAvg</c> since NCCL 2.10).</summary>
internal enum NcclReduction
{
    Sum = 0,
    Prod = 1,
    Max = 2,
    Min = 3,
    Avg = 4,
}

/// <summary>nccl.h's <c>ncclUniqueId</c>: <c>NCCL_UNIQUE_ID_BYTES</c> (128) opaque bytes, passed by value to <c>ncclCommInitRank</c>.</summary>
[StructLayout(LayoutKind.Sequential, Size = Bytes)]
internal unsafe struct NcclUniqueId
{
    /// <summary><c>NCCL_UNIQUE_ID_BYTES</c>.</summary>
    public const int Bytes = 128;

    /// <summary>The id's bytes.</summary>
    public fixed byte Internal[Bytes];
}
