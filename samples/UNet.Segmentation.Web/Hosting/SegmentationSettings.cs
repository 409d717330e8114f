using UNet.Segmentation.Inference;

namespace UNet.Segmentation.Web.Hosting;

/// <summary>Which library predictor serves the requests.</summary>
public enum Engine
{
    /// <summary>UNet.Segmentation.Onnx's <c>OnnxPredictor</c> on ONNX Runtime: an .onnx file from <c>unet export</c>.</summary>
    Onnx,

    /// <summary>UNet.Segmentation's <c>Predictor</c> on TorchSharp (libtorch): a .safetensors checkpoint.</summary>
    TorchSharp,
}

/// <summary>
/// The configuration section <c>Segmentation</c> (appsettings.json, environment variables
/// <c>Segmentation__ModelPath</c>, or arguments <c>--Segmentation:ModelPath=...</c>): the model and
/// the limits every request is held to.
/// </summary>
public sealed class SegmentationSettings
{
    /// <summary>The section's name.</summary>
    public const string Section = "Segmentation";

    /// <summary>Which predictor runs the model.</summary>
    public Engine Engine { get; set; } = Engine.Onnx;

    /// <summary>The model file: .onnx for <see cref="Engine.Onnx"/>, .safetensors for <see cref="Engine.TorchSharp"/>; a relative path is taken from the working directory.</summary>
    public string ModelPath { get; set; } = "";

    /// <summary>How images become network inputs: full-resolution overlap tiles (default) or the reference's resize.</summary>
    public InputMode Input { get; set; } = InputMode.OverlapTile;

    /// <summary>Average each prediction over the four flips (4× the work).</summary>
    public bool FlipTta { get; set; }

    /// <summary>ONNX Runtime's threads inside one operator; null lets ONNX Runtime choose.</summary>
    public int? Threads { get; set; }

    /// <summary>The largest request body in bytes (multipart overhead included): larger ones get 413.</summary>
    public long MaxRequestBytes { get; set; } = 20_000_000;

    /// <summary>The most pixels (width × height, read from the image's header before decoding) an image may have: more gets 413.</summary>
    public long MaxPixels { get; set; } = 4096L * 4096;

    /// <summary>Predictions that run at once.</summary>
    public int MaxConcurrentPredictions { get; set; } = 2;

    /// <summary>Requests that may wait for a prediction slot; one more gets 503 with Retry-After.</summary>
    public int QueueLength { get; set; } = 16;

    /// <summary>Seconds a request may take from its first body byte to its answer: a slower upload gets 408, a slower wait and prediction 503.</summary>
    public double RequestTimeoutSeconds { get; set; } = 60;

    /// <summary>Every problem with these settings, each naming its key; empty when usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        string key(string name) => $"{Section}:{name}";
        if (!Enum.IsDefined(Engine)) problems.Add($"{key(nameof(Engine))} {Engine} is not an engine: use Onnx or TorchSharp");
        if (string.IsNullOrWhiteSpace(ModelPath))
            problems.Add($"{key(nameof(ModelPath))} is not set: pass --{key(nameof(ModelPath))}=path/to/unet.onnx or set it in appsettings.json");
        if (!Enum.IsDefined(Input)) problems.Add($"{key(nameof(Input))} {Input} is not an input mode: use OverlapTile or ReferenceResize");
        if (Threads is < 1) problems.Add($"{key(nameof(Threads))} must be at least 1 when set (got {Threads})");
        if (MaxRequestBytes < 1) problems.Add($"{key(nameof(MaxRequestBytes))} must be at least 1 (got {MaxRequestBytes})");
        if (MaxPixels < 1) problems.Add($"{key(nameof(MaxPixels))} must be at least 1 (got {MaxPixels})");
        if (MaxConcurrentPredictions < 1) problems.Add($"{key(nameof(MaxConcurrentPredictions))} must be at least 1 (got {MaxConcurrentPredictions})");
        if (QueueLength < 0) problems.Add($"{key(nameof(QueueLength))} must not be negative (got {QueueLength})");
        if (!(RequestTimeoutSeconds > 0)) problems.Add($"{key(nameof(RequestTimeoutSeconds))} must be above 0 (got {RequestTimeoutSeconds})");
        return problems;
    }
}
