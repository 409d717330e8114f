using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;

namespace UNet.Segmentation.Torch.Native;

/// <summary>
/// Finds and loads the native shim. Probe order: the file or folder named by
/// <c>UNET_SEGMENTATION_NATIVE</c>; <c>runtimes/&lt;rid&gt;/native/</c> beside the application and
/// beside this assembly (where NuGet puts it); those folders themselves; then the system search.
/// Every attempt is recorded, so a failure says what was tried and why each try failed.
/// </summary>
internal static class NativeLibraryLoader
{
    internal const string EnvironmentVariable = "UNET_SEGMENTATION_NATIVE";
    internal const string FileName = "libunet_segmentation_native.so";
    private static readonly object Gate = new();
    private static IntPtr _handle;
    private static TorchNativeLoadException? _failure;

    internal static void RegisterResolver() =>
        NativeLibrary.SetDllImportResolver(typeof(NativeLibraryLoader).Assembly, Resolve);

    private static IntPtr Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (libraryName != NativeMethods.Library) return IntPtr.Zero;
        lock (Gate)
        {
            if (_handle != IntPtr.Zero) return _handle;
            if (_failure is not null) throw _failure;
            try
            {
                _handle = Load(Environment.GetEnvironmentVariable(EnvironmentVariable), CandidateFolders());
                ConfigureDefaults();
                return _handle;
            }
            catch (TorchNativeLoadException e)
            {
                _failure = e;
                throw;
            }
        }
    }

    internal static IEnumerable<string> CandidateFolders()
    {
        string rid = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? "linux-arm64" : "linux-x64";
        var roots = new[] { AppContext.BaseDirectory, Path.GetDirectoryName(typeof(NativeLibraryLoader).Assembly.Location) ?? "" };
        foreach (var root in roots.Where(r => r.Length > 0).Distinct())
        {
            yield return Path.Combine(root, "runtimes", rid, "native");
            yield return root;
        }
    }

    /// <summary>Loads the shim from the override or the candidate folders and checks its ABI version.</summary>
    internal static IntPtr Load(string? overridePath, IEnumerable<string> folders, bool systemSearch = true)
    {
        var trace = new StringBuilder();
        var candidates = new List<string>();
        if (!string.IsNullOrWhiteSpace(overridePath))
            candidates.Add(Directory.Exists(overridePath) ? Path.Combine(overridePath, FileName) : overridePath);
        candidates.AddRange(folders.Select(f => Path.Combine(f, FileName)));

        bool libtorchMissing = false;
        foreach (var path in candidates)
        {
            if (!File.Exists(path))
            {
                trace.AppendLine($"  {path}: no such file");
                continue;
            }
            try
            {
                var handle = NativeLibrary.Load(path);
                CheckAbi(handle, path);
                return handle;
            }
            catch (DllNotFoundException e)
            {
                trace.AppendLine($"  {path}: {e.Message}");
                libtorchMissing |= e.Message.Contains("libtorch", StringComparison.Ordinal) || e.Message.Contains("libc10", StringComparison.Ordinal);
            }
            catch (BadImageFormatException e)
            {
                trace.AppendLine($"  {path}: not a loadable library for this process ({e.Message})");
            }
        }
        if (systemSearch && NativeLibrary.TryLoad(NativeMethods.Library, typeof(NativeLibraryLoader).Assembly, null, out var fromSearch))
        {
            CheckAbi(fromSearch, NativeMethods.Library);
            return fromSearch;
        }
        if (systemSearch) trace.AppendLine($"  system search for '{NativeMethods.Library}': not found");

        var message = new StringBuilder("The native shim libunet_segmentation_native.so could not be loaded. Tried:\n").Append(trace);
        message.Append(libtorchMissing
            ? "libtorch itself is missing: on Debian/Ubuntu install it with `sudo apt-get install libtorch-dev`, "
              + "or build the shim against another libtorch with `dotnet build -p:TorchDir=<libtorch>/share/cmake/Torch` (CUDA builds included)."
            : $"Build it with `dotnet build` (it runs CMake over src/UNet.Segmentation.Native), or set {EnvironmentVariable} to the built library.");
        throw new TorchNativeLoadException(message.ToString());
    }

    private static unsafe void CheckAbi(IntPtr handle, string path)
    {
        if (!NativeLibrary.TryGetExport(handle, "uts_abi_version", out var export))
            throw new TorchNativeLoadException($"{path} is not the UNet.Segmentation shim: it exports no uts_abi_version.");
        int version = ((delegate* unmanaged<int>)export)();
        if (version != NativeMethods.AbiVersion)
            throw new TorchNativeLoadException(
                $"{path} has ABI version {version}, this binding needs {NativeMethods.AbiVersion}: rebuild the shim from the same source as the binding.");
    }

    /// <summary>
    /// Debian's libtorch starts with one intra-op thread: use every core unless OMP_NUM_THREADS
    /// says otherwise. And install the caching CPU allocator (<see cref="CpuMemoryCache"/>) unless
    /// UNET_CPU_CACHE=0, with its limit from UNET_CPU_CACHE_LIMIT_MB (default: half the memory).
    /// </summary>
    private static unsafe void ConfigureDefaults()
    {
        if (Environment.GetEnvironmentVariable("OMP_NUM_THREADS") is not { Length: > 0 }
            && NativeLibrary.TryGetExport(_handle, "uts_set_num_threads", out var threads))
            ((delegate* unmanaged<int, int>)threads)(Environment.ProcessorCount);
        var (caching, limit) = CpuMemoryCache.SettingsFromEnvironment();
        if (NativeLibrary.TryGetExport(_handle, "uts_cpu_cache_configure", out var configure)
            && ((delegate* unmanaged<byte, long, int>)configure)(caching ? (byte)1 : (byte)0, limit) != 0)
            throw new TorchNativeLoadException("the shim could not install its caching CPU allocator");
    }
}
