using Microsoft.ML.OnnxRuntime;

namespace UNet.Segmentation.Onnx;

/// <summary>Opening ONNX Runtime sessions with one clear error, and checking a model's signature.</summary>
internal static class OnnxSessions
{
    public static InferenceSession Open(string path, OnnxPredictorOptions options) =>
        Open(path, options, settings => new InferenceSession(path, settings));

    /// <summary>A session on an ONNX model held in memory, called <paramref name="name"/> in errors.</summary>
    public static InferenceSession Open(byte[] model, string name, OnnxPredictorOptions options) =>
        Open(name, options, settings => new InferenceSession(model, settings));

    private static InferenceSession Open(string path, OnnxPredictorOptions options, Func<SessionOptions, InferenceSession> create)
    {
        try
        {
            return OpenLoaded(path, options, create);
        }
        catch (Exception e) when (OnnxNativeLibrary.IsLoadFailure(e))
        {
            // The first ONNX Runtime call loads its native library: missing, it names the package to add.
            throw OnnxNativeLibrary.Explain(e, AppContext.BaseDirectory);
        }
    }

    private static InferenceSession OpenLoaded(string path, OnnxPredictorOptions options, Func<SessionOptions, InferenceSession> create)
    {
        using var settings = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            InterOpNumThreads = 1,
        };
        if (options.Threads is { } threads) settings.IntraOpNumThreads = threads;
        try
        {
            if (options.ExecutionProvider == OnnxExecutionProvider.Cuda) settings.AppendExecutionProvider_CUDA(options.CudaDevice);
        }
        catch (Exception e) when (e is OnnxRuntimeException or EntryPointNotFoundException or DllNotFoundException)
        {
            throw new NotSupportedException(
                $"ONNX Runtime's CUDA execution provider cannot start ({e.Message.Trim()}): reference Microsoft.ML.OnnxRuntime.Gpu instead of Microsoft.ML.OnnxRuntime and install CUDA and cuDNN", e);
        }
        try
        {
            return create(settings);
        }
        catch (OnnxRuntimeException e)
        {
            throw new OnnxModelException(path, $"ONNX Runtime cannot load it: {FirstLine(e.Message)}", e);
        }
    }

    public static void CheckSignature(string path, InferenceSession session, OnnxModelInfo info)
    {
        if (session.InputMetadata.Count != 1 || !session.InputMetadata.TryGetValue(OnnxModelInfo.InputName, out var input))
            throw new OnnxModelException(path, $"has inputs [{string.Join(", ", session.InputMetadata.Keys)}]; a U-Net export has one, '{OnnxModelInfo.InputName}'");
        if (!session.OutputMetadata.TryGetValue(OnnxModelInfo.ProbabilitiesName, out var output))
            throw new OnnxModelException(path, $"has outputs [{string.Join(", ", session.OutputMetadata.Keys)}]; a U-Net export has '{OnnxModelInfo.ProbabilitiesName}'");
        if (input.ElementType != typeof(float) || output.ElementType != typeof(float))
            throw new OnnxModelException(path, "its input and outputs must be float32");
        if (input.Dimensions.Length != 4 || input.Dimensions[1] != info.InputChannels)
            throw new OnnxModelException(path, $"its input is [{string.Join(", ", input.Dimensions)}]; its metadata says N×{info.InputChannels}×H×W");
        if (output.Dimensions.Length != 4 || output.Dimensions[1] != info.Classes)
            throw new OnnxModelException(path, $"its probabilities are [{string.Join(", ", output.Dimensions)}]; its metadata says N×{info.Classes}×H×W");
    }

    public static string FirstLine(string message)
    {
        string line = message.Trim();
        int end = line.IndexOf('\n');
        return end < 0 ? line : line[..end].Trim();
    }
}
