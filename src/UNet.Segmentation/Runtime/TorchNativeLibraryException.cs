namespace UNet.Segmentation.Runtime;

/// <summary>
/// TorchSharp's native library (libLibTorchSharp and libtorch) could not be loaded. The message
/// names the cause the loader reported and the fix; <see cref="Exception.InnerException"/> holds
/// TorchSharp's own error.
/// </summary>
public sealed class TorchNativeLibraryException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    public TorchNativeLibraryException(string message, Exception? inner) : base(message, inner) { }
}
