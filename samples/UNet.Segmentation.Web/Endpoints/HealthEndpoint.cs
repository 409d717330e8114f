using UNet.Segmentation.Web.Hosting;

namespace UNet.Segmentation.Web.Endpoints;

/// <summary>What GET /health says: the model is loaded (the service does not start otherwise), by which engine, from which file, and the limits in force.</summary>
public sealed record Health(
    string Status,
    bool ModelLoaded,
    string Engine,
    string ModelFile,
    int InputChannels,
    int Classes,
    string Input,
    bool FlipTta,
    long MaxRequestBytes,
    long MaxPixels,
    int MaxConcurrentPredictions,
    int QueueLength,
    double RequestTimeoutSeconds)
{
    /// <summary>The answer for the running service.</summary>
    public static Health Of(PredictorHost host, SegmentationSettings settings) => new(
        "ok", true, host.Engine, Path.GetFileName(host.ModelPath), host.InputChannels, host.Classes,
        settings.Input.ToString(), settings.FlipTta, settings.MaxRequestBytes, settings.MaxPixels,
        settings.MaxConcurrentPredictions, settings.QueueLength, settings.RequestTimeoutSeconds);
}
