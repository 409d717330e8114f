using System.Runtime.InteropServices;

namespace UNet.Segmentation.Distributed.Nccl;

/// <summary>
/// The few CUDA runtime calls the NCCL binding needs (libcudart, reached with
/// <see cref="NativeLibrary"/>): <c>ncclCommInitRank</c> binds the communicator to the calling
/// thread's current CUDA device, so that device is chosen first with <c>cudaSetDevice</c>.
/// <see cref="Load()"/> keeps the library it loaded for each value of <see cref="PathVariable"/>;
/// <see cref="Load(string)"/> loads a given file afresh.
/// </summary>
internal sealed unsafe class CudaRuntime
{
    /// <summary>The environment variable naming libcudart's path, for a CUDA runtime outside the loader's search path.</summary>
    public const string PathVariable = "UNET_CUDART_LIBRARY";

    /// <summary>The file names tried, in order, when <see cref="PathVariable"/> is not set.</summary>
    public static readonly string[] Candidates = ["libcudart.so.13", "libcudart.so.12", "libcudart.so"];


    private CudaRuntime(nint handle, string path)
    {
        Path = path;
        nint F(string name) => NativeLibrary.TryGetExport(handle, name, out var f) ? f
            : throw new CommunicationLibraryException($"{path} has no {name}: it is not a CUDA runtime library");
        SetDevice = (delegate* unmanaged<int, int>)F("cudaSetDevice");
        GetDevice = (delegate* unmanaged<int*, int>)F("cudaGetDevice");
        GetErrorString = (delegate* unmanaged<int, byte*>)F("cudaGetErrorString");
    }

    /// <summary>The file loaded.</summary>
    public string Path { get; }

    /// <summary><c>cudaError_t cudaSetDevice(int device)</c>.</summary>
    public delegate* unmanaged<int, int> SetDevice { get; }

    /// <summary><c>cudaError_t cudaGetDevice(int* device)</c>.</summary>
    public delegate* unmanaged<int*, int> GetDevice { get; }

    /// <summary><c>const char* cudaGetErrorString(cudaError_t error)</c>.</summary>
    public delegate* unmanaged<int, byte*> GetErrorString { get; }

    /// <summary>
    /// Loads libcudart: the file <see cref="PathVariable"/> names, else the first of
    /// <see cref="Candidates"/> the loader finds; the same library is returned for the same value of
    /// the variable. A missing library is a <see cref="CommunicationLibraryException"/> naming what
    /// was tried and where libcudart comes from.
    /// </summary>
    public static CudaRuntime Load() => NativeLibraries.Load(PathVariable, Candidates, Open);

    /// <summary>Loads the libcudart at <paramref name="path"/>, not cached (tests load a stand-in this way).</summary>
    public static CudaRuntime Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        return Open([path]);
    }

    private static CudaRuntime Open(IReadOnlyList<string> candidates) =>
        NativeLibraries.Open(candidates, (handle, path) => new CudaRuntime(handle, path), tried =>
            $"The CUDA runtime is not available: could not load {tried}, which selecting the GPU for NCCL needs. " +
            "libcudart comes with the CUDA toolkit (NVIDIA's CUDA apt repository: cuda-cudart-12-x), the HPC SDK, or the nvidia-cuda-runtime-cu12 pip wheel " +
            $"(its nvidia/cuda_runtime/lib/libcudart.so.12); set {PathVariable} to its path when it is outside the loader's search path");

    /// <summary>The CUDA runtime's text for an error code, with the code, e.g. "invalid device ordinal (cudaError 101)".</summary>
    public string Describe(int code)
    {
        byte* text = GetErrorString(code);
        string message = text is null ? "no description" : Marshal.PtrToStringUTF8((nint)text) ?? "no description";
        return $"{message} (cudaError {code})";
    }
}
