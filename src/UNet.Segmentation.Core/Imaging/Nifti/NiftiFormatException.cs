namespace UNet.Segmentation.Imaging.Nifti;

/// <summary>
/// A NIfTI file could not be read: it is damaged or truncated, is not a single-file NIfTI-1 or
/// NIfTI-2 image, or holds a voxel type or a number of dimensions this library does not support.
/// The message is one line naming the file and the problem.
/// </summary>
public sealed class NiftiFormatException : ImageFormatException
{
    /// <summary>Creates the exception for <paramref name="filePath"/> with a description of <paramref name="problem"/>.</summary>
    /// <param name="filePath">The file (or the name given for a stream) that failed.</param>
    /// <param name="problem">What is wrong, in words.</param>
    public NiftiFormatException(string filePath, string problem)
        : this(filePath, problem, null)
    {
    }

    /// <summary>Creates the exception with the error that revealed the problem.</summary>
    /// <param name="filePath">The file (or the name given for a stream) that failed.</param>
    /// <param name="problem">What is wrong, in words.</param>
    /// <param name="innerException">The underlying error, for example the gzip decoder's.</param>
    public NiftiFormatException(string filePath, string problem, Exception? innerException)
        : base("NIfTI file", filePath, problem, innerException)
    {
    }
}
