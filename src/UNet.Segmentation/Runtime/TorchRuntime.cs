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

    /// <summary>Turns a load failure into one message: what the dynamic loader said about libLibTorchSharp, and what to do.</summary>
    internal static TorchNativeLibraryException Explain(Exception error, string appDirectory)
    {
        string? library = NativeFiles.Find(appDirectory, "LibTorchSharp");
        if (library is null)
            return new TorchNativeLibraryException(
                $"TorchSharp's native library (libLibTorchSharp) is not in {appDirectory}: add a backend package to the application — TorchSharp-cpu, TorchSharp-cuda-linux or TorchSharp-cuda-windows (version {TorchSharpVersion}).", error);
        string reason = LoaderError(library) ?? Innermost(error).Message;
        if (reason.Contains(GlibcxxVersion, StringComparison.Ordinal))
            return new TorchNativeLibraryException(
                $"{library} needs {GlibcxxVersion} from libstdc++, which this system's libstdc++ lacks (Debian 12, Ubuntu 22.04). " +
                "UNet.Segmentation's build step marks that need weak when the build machine lacks it; this output was built elsewhere or with UNetPatchLibTorchSharp=false. " +
                "Rebuild or publish with -p:UNetPatchLibTorchSharp=true, or install libstdc++ from GCC 13 or newer (docs/torchsharp-on-older-linux.md). Loader: " + reason, error);
        return new TorchNativeLibraryException($"TorchSharp's native library {library} could not be loaded: {reason}", error);
    }

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
