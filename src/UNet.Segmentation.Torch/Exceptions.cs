namespace UNet.Segmentation.Torch;

/// <summary>What kind of failure a <see cref="TorchException"/> reports.</summary>
public enum TorchErrorKind
{
    /// <summary>libtorch rejected the call: shapes, dtypes, devices, numerics.</summary>
    Engine,
    /// <summary>The shim rejected an argument before libtorch saw it.</summary>
    InvalidArgument,
    /// <summary>An allocation failed.</summary>
    OutOfMemory,
    /// <summary>A rendezvous or collective failed: a peer died or hung past the timeout.</summary>
    Distributed,
    /// <summary>This build of the native shim lacks the feature asked for (the NCCL backend on a CPU build).</summary>
    Unsupported,
}

/// <summary>A failure inside libtorch or the native shim, carrying libtorch's own message.</summary>
public class TorchException : Exception
{
    /// <summary>Creates the exception with libtorch's message.</summary>
    public TorchException(string message, TorchErrorKind kind = TorchErrorKind.Engine) : base(message) => Kind = kind;

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    public TorchException(string message, Exception inner) : base(message, inner) => Kind = TorchErrorKind.Engine;

    /// <summary>What kind of failure this is.</summary>
    public TorchErrorKind Kind { get; }
}

/// <summary>A host or device allocation failed inside libtorch.</summary>
public sealed class TorchOutOfMemoryException : TorchException
{
    /// <summary>Creates the exception with libtorch's message.</summary>
    public TorchOutOfMemoryException(string message) : base(message, TorchErrorKind.OutOfMemory) { }
}

/// <summary>The native shim or libtorch could not be found or has the wrong ABI version.</summary>
public sealed class TorchNativeLoadException : DllNotFoundException
{
    /// <summary>Creates the exception with the probe trace and what to do about it.</summary>
    public TorchNativeLoadException(string message) : base(message) { }
}
