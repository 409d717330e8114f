namespace UNet.Segmentation.Data.Msd;

/// <summary>
/// A Medical Segmentation Decathlon task that cannot be used: a <c>dataset.json</c> that is
/// missing, malformed or lacks a field, an image or label file that is damaged, of the wrong
/// shape or geometry, or a label value outside the task's labels. The message names the file and,
/// where one is at fault, the field.
/// </summary>
public sealed class MsdDataException : DataFileException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="filePath">The file at fault (<c>dataset.json</c>, an image or a label).</param>
    /// <param name="field">The JSON field at fault (for example <c>training[3].label</c>), or null.</param>
    /// <param name="problem">What is wrong.</param>
    /// <param name="inner">The error that revealed it, if any.</param>
    public MsdDataException(string filePath, string? field, string problem, Exception? inner = null)
        : base(filePath, field is null ? problem : $"{field}: {problem}", inner)
    {
        Field = field;
    }

    /// <summary>The JSON field at fault, or null when the problem is not one field's.</summary>
    public string? Field { get; }
}
