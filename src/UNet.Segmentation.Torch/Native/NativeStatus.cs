using System.Runtime.InteropServices;

namespace UNet.Segmentation.Torch.Native;

/// <summary>Turns a uts_status into the binding's typed exceptions.</summary>
internal static class NativeStatus
{
    internal const int Ok = 0;
    internal const int Error = 1;
    internal const int OutOfMemory = 2;
    internal const int InvalidArgument = 3;
    internal const int DistributedError = 4;
    internal const int Unsupported = 5;

    internal static void Check(int status)
    {
        if (status != Ok) Throw(status);
    }

    internal static Tensor Result(int status, IntPtr result)
    {
        if (status != Ok) Throw(status);
        return new Tensor(result);
    }

    internal static string LastError() => Marshal.PtrToStringUTF8(NativeMethods.uts_last_error()) ?? string.Empty;

    private static void Throw(int status)
    {
        string message = LastError();
        throw status switch
        {
            OutOfMemory => new TorchOutOfMemoryException(message),
            InvalidArgument => new TorchException(message, TorchErrorKind.InvalidArgument),
            DistributedError => new Distributed.DistributedException(message),
            Unsupported => new Distributed.DistributedBackendUnavailableException(message),
            _ => new TorchException(message, TorchErrorKind.Engine),
        };
    }
}
