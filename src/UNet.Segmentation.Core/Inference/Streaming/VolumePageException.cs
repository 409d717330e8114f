using UNet.Segmentation.Imaging;

namespace UNet.Segmentation.Inference.Streaming;

/// <summary>
/// A page of a volume cannot be predicted with the others: it has another size than the first page,
/// another bit depth or channel count, or its file could not be read. The message is one line naming
/// the file and the (one-based) page.
/// </summary>
public sealed class VolumePageException : ImageFormatException
{
    /// <summary>Creates the exception for page <paramref name="page"/> (one-based) of <paramref name="filePath"/>.</summary>
    public VolumePageException(string filePath, int page, string problem, Exception? innerException = null)
        : base(filePath, $"page {page}: {problem}", innerException)
    {
        Page = page;
    }

    /// <summary>The one-based page in the volume.</summary>
    public int Page { get; }
}

/// <summary>
/// An output of a streaming prediction could not be written (the disk is full, the folder is not
/// writable). The message is one line naming the file and the page; the pages written before it are
/// kept, and the same command run again resumes after them.
/// </summary>
public sealed class VolumeOutputException : IOException
{
    /// <summary>Creates the exception for page <paramref name="page"/> (one-based) of <paramref name="filePath"/>.</summary>
    public VolumeOutputException(string filePath, int page, string problem, Exception? innerException = null)
        : base($"'{filePath}', page {page}: {problem}", innerException)
    {
        FilePath = filePath;
        Page = page;
    }

    /// <summary>The output file that could not be written.</summary>
    public string FilePath { get; }

    /// <summary>The one-based page being written.</summary>
    public int Page { get; }
}
