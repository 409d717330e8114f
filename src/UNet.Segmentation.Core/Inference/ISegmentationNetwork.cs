namespace UNet.Segmentation.Inference;

/// <summary>
/// A segmentation network as the prediction pipeline sees it, whatever runs it (TorchSharp,
/// ONNX Runtime): batches of <see cref="InputSize"/>² inputs in, soft-max probabilities of the
/// centred <see cref="OutputSize"/>² output out, both float32 N×C×H×W row-major.
/// </summary>
public interface ISegmentationNetwork
{
    /// <summary>C, the input channels.</summary>
    int InputChannels { get; }

    /// <summary>K, the classes (probability channels).</summary>
    int Classes { get; }

    /// <summary>S_in, the side of the square inputs it is given.</summary>
    int InputSize { get; }

    /// <summary>S_out, the side of its centred output (S_in − S_out is even and non-negative).</summary>
    int OutputSize { get; }

    /// <summary>
    /// Writes the probabilities (<paramref name="count"/>×K×S_out×S_out) of
    /// <paramref name="inputs"/> (<paramref name="count"/>×C×S_in×S_in) into <paramref name="probabilities"/>.
    /// </summary>
    void Probabilities(ReadOnlySpan<float> inputs, int count, Span<float> probabilities);

    /// <summary>
    /// What tells this network's weights from another's of the same shape (e.g. a SHA-256 of them),
    /// as they are now; empty when the network cannot say. A resumed streaming prediction must have
    /// the same.
    /// </summary>
    string Fingerprint() => "";
}
