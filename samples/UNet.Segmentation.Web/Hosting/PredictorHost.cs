using UNet.Segmentation.Imaging;
using UNet.Segmentation.Inference;
using UNet.Segmentation.Onnx;

namespace UNet.Segmentation.Web.Hosting;

/// <summary>
/// The one predictor the service shares between requests (the library's predictors are safe for
/// concurrent calls), with what /health says of it. Made once at startup by <see cref="Load"/>,
/// which fails there when the model cannot be used.
/// </summary>
public sealed class PredictorHost : IDisposable
{
    private readonly IDisposable _predictor;
    private readonly Func<DecodedImage, ImagePrediction> _predict;

    private PredictorHost(IDisposable predictor, Func<DecodedImage, ImagePrediction> predict, string engine, string modelPath, int inputChannels, int classes)
    {
        _predictor = predictor;
        _predict = predict;
        Engine = engine;
        ModelPath = modelPath;
        InputChannels = inputChannels;
        Classes = classes;
    }

    /// <summary>Serves <paramref name="predictor"/> (which the host then owns): any predictor of the library, or a test's.</summary>
    public static PredictorHost For<TOptions>(SegmentationPredictor<TOptions> predictor, string engine, string modelPath) where TOptions : PredictionOptions
    {
        ArgumentNullException.ThrowIfNull(predictor);
        return new PredictorHost(predictor, image => predictor.PredictImage(image, pictures: true), engine, modelPath, predictor.InputChannels, predictor.Classes);
    }

    /// <summary>The engine's name: "onnx" or "torchsharp".</summary>
    public string Engine { get; }

    /// <summary>The model file's full path.</summary>
    public string ModelPath { get; }

    /// <summary>The channels an image must have (1 grey, 3 RGB).</summary>
    public int InputChannels { get; }

    /// <summary>The classes K of every mask.</summary>
    public int Classes { get; }

    /// <summary>The class mask, probabilities and mask/overlay PNGs of a decoded image whose channels are <see cref="InputChannels"/>.</summary>
    public ImagePrediction Predict(DecodedImage image) => _predict(image);

    /// <summary>
    /// Loads the configured model with the configured engine.
    /// </summary>
    /// <exception cref="StartupException">The settings are invalid, or the model is missing or cannot be loaded; the message is one line naming the file.</exception>
    public static PredictorHost Load(SegmentationSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.Validate() is { Count: > 0 } problems) throw new StartupException(string.Join("; ", problems));
        string path = Path.GetFullPath(settings.ModelPath);
        if (!File.Exists(path))
            throw new StartupException($"the model file {path} ({SegmentationSettings.Section}:ModelPath, engine {settings.Engine}) does not exist");
        try
        {
            return settings.Engine switch
            {
                Hosting.Engine.Onnx => For(OnnxPredictor.Load(path, new OnnxPredictorOptions { Input = settings.Input, FlipTta = settings.FlipTta, Threads = settings.Threads }), "onnx", path),
                _ => For(Predictor.FromCheckpoint(path, new PredictorOptions { Input = settings.Input, FlipTta = settings.FlipTta }), "torchsharp", path),
            };
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new StartupException($"the model file {path} cannot be loaded by engine {settings.Engine}: {e.Message}", e);
        }
    }

    /// <summary>Disposes the predictor.</summary>
    public void Dispose() => _predictor.Dispose();
}

