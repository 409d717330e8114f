using Microsoft.ML.OnnxRuntime;
using UNet.Segmentation.Inference;

namespace UNet.Segmentation.Onnx;

/// <summary>An exported U-Net in an ONNX Runtime session as the array pipeline's network.</summary>
internal sealed class OnnxNetwork(string path, InferenceSession session, OnnxModelInfo info, string fingerprint) : ISegmentationNetwork
{
    /// <summary>The SHA-256 of the model's bytes as loaded.</summary>
    public string Fingerprint() => fingerprint;

    private static readonly string[] InputNames = [OnnxModelInfo.InputName];
    private static readonly string[] OutputNames = [OnnxModelInfo.ProbabilitiesName];

    public int InputChannels => info.InputChannels;

    public int Classes => info.Classes;

    public int InputSize => info.InputSize;

    public int OutputSize => info.OutputSize;

    public void Probabilities(ReadOnlySpan<float> inputs, int count, Span<float> probabilities) =>
        Run(inputs.ToArray(), count, InputSize, InputSize, probabilities);

    public FloatImages Run(FloatImages inputs)
    {
        if (inputs.Channels != InputChannels)
            throw new ArgumentException($"the network takes {InputChannels} channel(s); the inputs have {inputs.Channels}", nameof(inputs));
        foreach (var (size, name) in new[] { (inputs.Height, "height"), (inputs.Width, "width") })
            if (!info.IsValidInputSize(size))
                throw new ArgumentException(
                    $"input {name} {size} does not fit the network (depth {info.Depth}, {(info.ValidPadding ? "valid" : "same")} padding); nearest valid sizes: {string.Join(", ", UNetGeometry.NearestValidInputSizes(size, info.Depth, info.ValidPadding))}",
                    nameof(inputs));
        UNetGeometry.TryOutputSize(inputs.Height, info.Depth, info.ValidPadding, out int outH);
        UNetGeometry.TryOutputSize(inputs.Width, info.Depth, info.ValidPadding, out int outW);
        var result = FloatImages.Zeros(inputs.Count, Classes, outH, outW);
        Run(inputs.Data, inputs.Count, inputs.Height, inputs.Width, result.Data);
        return result;
    }

    private void Run(float[] inputs, int count, int height, int width, Span<float> probabilities)
    {
        using var input = OrtValue.CreateTensorValueFromMemory(inputs, [count, InputChannels, height, width]);
        IDisposableReadOnlyCollection<OrtValue> outputs;
        try
        {
            using var options = new RunOptions();
            outputs = session.Run(options, InputNames, [input], OutputNames);
        }
        catch (OnnxRuntimeException e)
        {
            throw new OnnxModelException(path, $"ONNX Runtime failed on a {count}×{InputChannels}×{height}×{width} input: {OnnxSessions.FirstLine(e.Message)}", e);
        }
        using (outputs)
        {
            var values = outputs[0].GetTensorDataAsSpan<float>();
            if (values.Length != probabilities.Length)
                throw new OnnxModelException(path, $"returned {values.Length} probabilities for a {count}×{InputChannels}×{height}×{width} input; expected {probabilities.Length}");
            values.CopyTo(probabilities);
        }
    }
}
