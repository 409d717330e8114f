namespace UNet.Segmentation.Imaging;

/// <summary>
/// A TIFF file could not be read: it is damaged, is not a TIFF, or uses a feature this reader does
/// not support. The message names the file, the page (when the problem lies in one) and the problem.
/// </summary>
public sealed class TiffFormatException : ImageFormatException
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
    /// <param name="innerException">The underlying error, for example LibTiff.NET's.</param>
    public TiffFormatException(string filePath, string problem, Exception? innerException)
        : this(filePath, null, problem, innerException)
    {
    }

    /// <summary>Creates the exception for a problem in one page; the message names it.</summary>
    /// <param name="filePath">The file (or the name given for a stream) that failed.</param>
    /// <param name="page">The one-based page, or null when the problem lies outside the pages (the header).</param>
    /// <param name="problem">What is wrong, in words, without the page.</param>
    /// <param name="innerException">The underlying error, for example LibTiff.NET's.</param>
    public TiffFormatException(string filePath, int? page, string problem, Exception? innerException)
        : base("TIFF file", filePath, page is null ? problem : $"page {page}: {problem}", innerException)
    {
        Page = page;
    }

    /// <summary>The one-based page the problem lies in, or null when it lies outside the pages (the header).</summary>
    public int? Page { get; }
}
