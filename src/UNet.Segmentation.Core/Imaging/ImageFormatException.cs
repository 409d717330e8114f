namespace UNet.Segmentation.Imaging;

/// <summary>
/// An image file could not be read: it is damaged, is in no format this library reads, or uses a
/// feature it does not support. The message names the file and the problem.
/// <see cref="TiffFormatException"/> is the TIFF reader's kind of it.
/// </summary>
public class ImageFormatException : FormatException
{
    /// <summary>Creates the exception for <paramref name="filePath"/> with a description of <paramref name="problem"/>.</summary>
    /// <param name="filePath">The file (or the name given for a stream) that failed.</param>
    /// <param name="problem">What is wrong, in words.</param>
    public ImageFormatException(string filePath, string problem)
        : this(filePath, problem, null)
    {
    }

    /// <summary>Creates the exception with the error that revealed the problem.</summary>
    /// <param name="filePath">The file (or the name given for a stream) that failed.</param>
    /// <param name="problem">What is wrong, in words.</param>
    /// <param name="innerException">The underlying error, for example the decoder's.</param>
    public ImageFormatException(string filePath, string problem, Exception? innerException)
        : this("image file", filePath, problem, innerException)
    {
    }

    private protected ImageFormatException(string kind, string filePath, string problem, Exception? innerException)
        : base($"{kind} '{filePath}': {problem}", innerException)
    {
        FilePath = filePath;
        Problem = problem;
    }

    /// <summary>The file (or the name given for a stream) that failed.</summary>
    public string FilePath { get; }

    /// <summary>The problem alone, without the file name.</summary>
    public string Problem { get; }
}
