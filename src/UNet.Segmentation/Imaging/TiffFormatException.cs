namespace UNet.Segmentation.Imaging;

/// <summary>
/// A TIFF file could not be read: it is damaged, is not a TIFF, or uses a feature this reader does
/// not support. The message names the file and the problem.
/// </summary>
public sealed class TiffFormatException : FormatException
{
    /// <summary>Creates the exception for <paramref name="filePath"/> with a description of <paramref name="problem"/>.</summary>
    /// <param name="filePath">The file (or the name given for a stream) that failed.</param>
    /// <param name="problem">What is wrong, in words.</param>
    public TiffFormatException(string filePath, string problem)
        : this(filePath, problem, null)
    {
    }

    /// <summary>Creates the exception with the error that revealed the problem.</summary>
    /// <param name="filePath">The file (or the name given for a stream) that failed.</param>
    /// <param name="problem">What is wrong, in words.</param>
    /// <param name="innerException">The underlying error, for example the zlib decoder's.</param>
    public TiffFormatException(string filePath, string problem, Exception? innerException)
        : base($"TIFF file '{filePath}': {problem}", innerException)
    {
        FilePath = filePath;
        Problem = problem;
    }

    /// <summary>The file (or the name given for a stream) that failed.</summary>
    public string FilePath { get; }

    /// <summary>The problem alone, without the file name.</summary>
    public string Problem { get; }
}
