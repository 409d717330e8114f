namespace UNet.Segmentation.Onnx;

/// <summary>An ONNX file that cannot be used: not an ONNX model, damaged, not a U-Net exported by UNet.Segmentation, or refused by ONNX Runtime. The message names the file.</summary>
public sealed class OnnxModelException : IOException
{
    /// <summary>A problem with <paramref name="path"/>.</summary>
    public OnnxModelException(string path, string problem, Exception? inner = null)
        : base($"ONNX file '{path}': {problem}", inner) => Path = path;

    /// <summary>The file.</summary>
    public string Path { get; }
}
