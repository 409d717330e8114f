using System.Runtime.InteropServices;

namespace UNet.Segmentation.Onnx;

/// <summary>
/// What to say when ONNX Runtime's native library does not load: the package an application adds
/// for its platform (Microsoft.ML.OnnxRuntime, or .Gpu.Linux / .Gpu.Windows for CUDA), since this
/// library references only Microsoft.ML.OnnxRuntime.Managed.
/// </summary>
internal static class OnnxNativeLibrary
{
    /// <summary>True for the errors a missing or unloadable native library raises at the first ONNX Runtime call.</summary>
    public static bool IsLoadFailure(Exception e) =>
        e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException
        || e is TypeInitializationException { InnerException: { } inner } && IsLoadFailure(inner);

    /// <summary>One message for a load failure, for the platform <paramref name="rid"/> (default: the running one).</summary>
    public static OnnxRuntimeNativeLibraryException Explain(Exception error, string appDirectory, string? rid = null)
    {
        rid ??= RunningPlatform();
        string file = FileName(rid);
        string? found = Candidates(appDirectory, file, rid).FirstOrDefault(File.Exists);
        if (found is not null)
            return new OnnxRuntimeNativeLibraryException($"ONNX Runtime's native library {found} could not be loaded: {Innermost(error).Message}", error);
        return new OnnxRuntimeNativeLibraryException(Packages(rid) is { } packages
            ? $"ONNX Runtime's native library ({file}) is not in {appDirectory}: UNet.Segmentation.Onnx depends on Microsoft.ML.OnnxRuntime.Managed only, so add the native package to the application — on {rid}: {packages}, at the same version as Microsoft.ML.OnnxRuntime.Managed."
            : $"ONNX Runtime's native library ({file}) is not in {appDirectory}, and ONNX Runtime's packages ship none for {rid}: Microsoft.ML.OnnxRuntime covers linux-x64, linux-arm64, win-x64, win-arm64 and osx-arm64.", error);
    }

    /// <summary>The ONNX Runtime packages that bring the native library for a runtime identifier, as a phrase; null where none does.</summary>
    public static string? Packages(string rid) => rid switch
    {
        "linux-x64" => "Microsoft.ML.OnnxRuntime (CPU) or Microsoft.ML.OnnxRuntime.Gpu.Linux (CUDA)",
        "win-x64" => "Microsoft.ML.OnnxRuntime (CPU) or Microsoft.ML.OnnxRuntime.Gpu.Windows (CUDA)",
        "linux-arm64" or "win-arm64" or "osx-arm64" => "Microsoft.ML.OnnxRuntime",
        _ => null,
    };

    /// <summary>The running process's portable runtime identifier: linux-x64, win-x64, osx-arm64, …</summary>
    public static string RunningPlatform() =>
        (OperatingSystem.IsWindows() ? "win" : OperatingSystem.IsMacOS() ? "osx" : "linux") + "-" +
        RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant();

    private static string FileName(string rid) =>
        rid.StartsWith("win", StringComparison.Ordinal) ? "onnxruntime.dll" : rid.StartsWith("osx", StringComparison.Ordinal) ? "libonnxruntime.dylib" : "libonnxruntime.so";

    // Top level (publish for a runtime) or runtimes/RID/native (build).
    private static IEnumerable<string> Candidates(string directory, string file, string rid)
    {
        yield return Path.Combine(directory, file);
        yield return Path.Combine(directory, "runtimes", rid, "native", file);
    }

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null) e = e.InnerException;
        return e;
    }
}
