namespace UNet.Segmentation.Onnx;

/// <summary>
/// ONNX Runtime's native library (onnxruntime.dll, libonnxruntime.so, libonnxruntime.dylib) could
/// not be loaded. UNet.Segmentation.Onnx depends on ONNX Runtime's managed API only; the message
/// names the native package the application adds for the running platform, or the loader's reason
/// when the library is there but does not load. <see cref="Exception.InnerException"/> holds
/// ONNX Runtime's own error.
/// </summary>
public sealed class OnnxRuntimeNativeLibraryException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    public OnnxRuntimeNativeLibraryException(string message, Exception? inner) : base(message, inner) { }
}
