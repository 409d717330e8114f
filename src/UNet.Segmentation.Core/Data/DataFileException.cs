namespace UNet.Segmentation.Data;

/// <summary>
/// A data file that cannot be used: unreadable, of the wrong size or kind, with a mask value
/// outside the classes, or without its partner. The message names the file and what is wrong.
/// </summary>
public class DataFileException : Exception
{
    /// <summary>Creates the exception.</summary>
    public DataFileException(string filePath, string problem, Exception? inner = null)
        : base($"{filePath}: {problem}", inner)
    {
        FilePath = filePath;
        Problem = problem;
    }

    /// <summary>The file at fault.</summary>
    public string FilePath { get; }

    /// <summary>What is wrong with it.</summary>
    public string Problem { get; }
}
