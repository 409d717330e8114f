namespace UNet.Segmentation.Serialization;

/// <summary>
/// A file is not a valid safetensors file, or holds something this library cannot represent (an
/// unsupported dtype). The message names the file, the problem and, where one is involved, the
/// tensor. Failures to read the file at all stay <see cref="IOException"/>s.
/// </summary>
public sealed class SafetensorsFormatException : FormatException
{
    /// <summary>Creates the exception for a problem found in <paramref name="filePath"/>.</summary>
    /// <param name="filePath">The file that was read.</param>
    /// <param name="problem">What is wrong, in words.</param>
    /// <param name="tensorName">The tensor involved, when there is one.</param>
    /// <param name="innerException">The underlying failure (a JSON parse error, for example).</param>
    public SafetensorsFormatException(string filePath, string problem, string? tensorName = null, Exception? innerException = null)
        : base($"'{filePath}' is not a valid safetensors file: {problem}", innerException)
    {
        FilePath = filePath;
        Problem = problem;
        TensorName = tensorName;
    }

    /// <summary>The file that was read.</summary>
    public string FilePath { get; }

    /// <summary>What is wrong, without the file name.</summary>
    public string Problem { get; }

    /// <summary>The tensor involved, or null when the problem is not about one tensor.</summary>
    public string? TensorName { get; }
}
