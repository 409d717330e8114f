namespace UNet.Segmentation.Data;

/// <summary>A data folder whose files do not form an ISBI-style dataset; the message names the file and what is wrong.</summary>
public sealed class IsbiDataException : DataFileException
{
    /// <summary>Creates the exception.</summary>
    public IsbiDataException(string filePath, string problem, Exception? inner = null) : base(filePath, problem, inner) { }
}
