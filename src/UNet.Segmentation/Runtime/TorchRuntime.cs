using System.Runtime.InteropServices;
using TorchSharp;

namespace UNet.Segmentation.Runtime;

/// <summary>
/// The first touch of TorchSharp's native library, done once with a clear error instead of a
/// type-initializer stack: a missing backend package, or a libstdc++ older than the one
/// TorchSharp 0.107 was built against (docs/torchsharp-on-older-linux.md).
/// </summary>
public static class TorchRuntime
{
    private static readonly Lock Gate = new();
    private static bool _loaded;

    /// <summary>The marker version that TorchSharp 0.107's libLibTorchSharp.so asks libstdc++ for.</summary>
    public const string GlibcxxVersion = "GLIBCXX_3.4.32";

    /// <summary>Loads the native backend (idempotent); throws <see cref="TorchNativeLibraryException"/> naming the cause and the fix.</summary>
    public static void EnsureLoaded()
    {
        if (Volatile.Read(ref _loaded)) return;
        lock (Gate)
        {
            if (_loaded) return;
            try
            {
                torch.InitializeDeviceType(DeviceType.CPU);
                using var probe = torch.zeros(1);
            }
            catch (Exception e) when (e is TypeInitializationException or DllNotFoundException or NotSupportedException or EntryPointNotFoundException or BadImageFormatException)
            {
                throw Explain(e, AppContext.BaseDirectory);
            }
            _loaded = true;
        }
    }

    /// <summary>
    /// Turns a load failure into one message: what the dynamic loader said about libLibTorchSharp,
    /// and what to do. Without a backend package, libLibTorchSharp (which the TorchSharp package
    /// itself carries for some platforms) or libtorch is missing: the message names the backend
    /// packages for <paramref name="rid"/> (default: the running platform's, e.g. linux-x64).
    /// </summary>
    internal static TorchNativeLibraryException Explain(Exception error, string appDirectory, string? rid = null)
    {
        rid ??= RunningPlatform();
        string? library = NativeFiles.Find(appDirectory, "LibTorchSharp");
        if (library is null)
            return NoBackend($"TorchSharp's native library (libLibTorchSharp) is not in {appDirectory}", rid, error);
        string reason = LoaderError(library) ?? Innermost(error).Message;
        if (reason.Contains(GlibcxxVersion, StringComparison.Ordinal))
            return new TorchNativeLibraryException(
                $"{library} needs {GlibcxxVersion} from libstdc++, which this system's libstdc++ lacks (Debian 12, Ubuntu 22.04). " +
                "UNet.Segmentation's build step marks that need weak when the build machine lacks it; this output was built elsewhere or with UNetPatchLibTorchSharp=false. " +
                "Rebuild or publish with -p:UNetPatchLibTorchSharp=true, or install libstdc++ from GCC 13 or newer (docs/torchsharp-on-older-linux.md). Loader: " + reason, error);
        if (NativeFiles.Find(appDirectory, "torch_cpu") is null)
            return NoBackend($"libtorch ({NativeFiles.FileName("torch_cpu")}) is not in {appDirectory}, only TorchSharp's {Path.GetFileName(library)}", rid, error);
        return new TorchNativeLibraryException($"TorchSharp's native library {library} could not be loaded: {reason}", error);
    }

    private static TorchNativeLibraryException NoBackend(string what, string rid, Exception error) =>
        new(BackendPackages(rid) is { } packages
            ? $"{what}: add a backend package to the application — on {rid}: {packages} (version {TorchSharpVersion})."
            : $"{what}, and TorchSharp {TorchSharpVersion} has no backend package for {rid}: TorchSharp-cpu runs on linux-x64, win-x64 and osx-arm64, TorchSharp-cuda-linux and TorchSharp-cuda-windows on x64; on {rid}, predict with UNet.Segmentation.Onnx on ONNX Runtime instead.", error);

    /// <summary>
    /// The TorchSharp backend packages that bring libLibTorchSharp and libtorch for a runtime
    /// identifier, as a phrase for a message; null where none does (linux-arm64, osx-x64, musl).
    /// TorchSharp-cpu's libtorch packages cover linux-x64, win-x64 and osx-arm64; TorchSharp
    /// itself carries LibTorchSharp for win-arm64 too, whose libtorch is a package of its own.
    /// </summary>
    internal static string? BackendPackages(string rid) => rid switch
    {
        "linux-x64" => "TorchSharp-cpu (CPU) or TorchSharp-cuda-linux (CUDA)",
        "win-x64" => "TorchSharp-cpu (CPU) or TorchSharp-cuda-windows (CUDA)",
        "osx-arm64" => "TorchSharp-cpu",
        "win-arm64" => "TorchSharp-cpu and libtorch-cpu-win-arm64 (TorchSharp-cpu's own libtorch packages are for linux-x64, win-x64 and osx-arm64)",
        _ => null,
    };

    /// <summary>The running process's portable runtime identifier: linux-x64, win-x64, osx-arm64, …</summary>
    internal static string RunningPlatform() =>
        (OperatingSystem.IsWindows() ? "win" : OperatingSystem.IsMacOS() ? "osx" : "linux") + "-" +
        RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant();

    private static string TorchSharpVersion => typeof(torch).Assembly.GetName().Version?.ToString(3) ?? "?";

    private static string? LoaderError(string library)
    {
        try
        {
            // Loading what TorchSharp failed to load repeats the loader's own reason (dlerror).
            if (NativeLibrary.TryLoad(library, out _)) return null;
            NativeLibrary.Load(library);
            return null;
        }
        catch (DllNotFoundException e)
        {
            return e.Message;
        }
    }

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null) e = e.InnerException;
        return e;
    }
}
