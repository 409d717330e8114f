namespace UNet.Segmentation.Distributed;

/// <summary>
/// A communication library (Open MPI's libmpi, NVIDIA's libnccl) is missing, foreign or incomplete.
/// The message names the file(s) tried and how to install the library.
/// </summary>
public sealed class CommunicationLibraryException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    public CommunicationLibraryException(string message, Exception? inner = null) : base(message, inner) { }
}
