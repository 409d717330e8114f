using Microsoft.ML.OnnxRuntime;
using UNet.Segmentation.Inference;

namespace UNet.Segmentation.Onnx;

/// <summary>
/// Segments images with a U-Net exported to ONNX (UNet.Segmentation's <c>OnnxExport</c>, or
/// <c>unet export</c>) on ONNX Runtime: the same options, pipeline and outputs as the TorchSharp
/// <c>Predictor</c> (<see cref="SegmentationPredictor{TOptions}"/>: slices, TIFF volumes, image
/// files), with no libtorch. Safe for concurrent calls from several threads: ONNX Runtime's
/// <c>InferenceSession.Run</c> is, and each call has its own inputs, outputs and run options.
/// </summary>
/// <example><code>
/// using var predictor = OnnxPredictor.Load("unet.onnx", OnnxPredictorOptions.Tiled with { Threads = 2 });
/// predictor.PredictVolume("test-volume.tif", "test-probabilities.tif", "test-masks.tif");
/// </code></example>
public sealed class OnnxPredictor : SegmentationPredictor<OnnxPredictorOptions>
{
    private readonly InferenceSession _session;
    private readonly OnnxNetwork _network;

    private OnnxPredictor(string path, InferenceSession session, OnnxModelInfo info, OnnxPredictorOptions options, string fingerprint) : base(options)
    {
        Path = path;
        _session = session;
        Info = info;
        _network = new OnnxNetwork(path, session, info, fingerprint);
    }

    /// <summary>
    /// Opens <paramref name="path"/> in an ONNX Runtime session and checks that it is a U-Net we
    /// exported (metadata, input and outputs).
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="OnnxModelException">The file is not an ONNX model, is damaged, is not ours, or ONNX Runtime refuses it (the message names the file).</exception>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public static OnnxPredictor Load(string path, OnnxPredictorOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var checkedOptions = (options ?? new OnnxPredictorOptions()).EnsureValid();
        if (!File.Exists(path)) throw new FileNotFoundException($"ONNX file '{path}' does not exist", path);
        string fingerprint;
        using (var file = File.OpenRead(path)) fingerprint = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(file));
        return FromSession(path, OnnxSessions.Open(path, checkedOptions), checkedOptions, fingerprint);
    }

    /// <summary>
    /// Opens an ONNX model held in memory (the bytes of a file <c>OnnxExport</c> wrote) in an ONNX
    /// Runtime session and checks it as <see cref="Load(string, OnnxPredictorOptions?)"/> does; errors
    /// and <see cref="Path"/> call it "the model bytes".
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="model"/> is empty, or the options are invalid.</exception>
    /// <exception cref="OnnxModelException">The bytes are not an ONNX model, are damaged, are not ours, or ONNX Runtime refuses them.</exception>
    public static OnnxPredictor Load(byte[] model, OnnxPredictorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        const string name = "the model bytes";
        if (model.Length == 0) throw new ArgumentException($"{name} are empty: pass the bytes of an ONNX file", nameof(model));
        var checkedOptions = (options ?? new OnnxPredictorOptions()).EnsureValid();
        return FromSession(name, OnnxSessions.Open(model, name, checkedOptions), checkedOptions, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(model)));
    }

    private static OnnxPredictor FromSession(string path, InferenceSession session, OnnxPredictorOptions options, string fingerprint)
    {
        try
        {
            var info = OnnxModelInfo.FromMetadata(path, session.ModelMetadata.CustomMetadataMap);
            OnnxSessions.CheckSignature(path, session, info);
            return new OnnxPredictor(path, session, info, options, fingerprint);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>The ONNX file, or "the model bytes" for a model loaded from memory.</summary>
    public string Path { get; }

    /// <summary>What the file says of the network.</summary>
    public OnnxModelInfo Info { get; }

    /// <inheritdoc/>
    protected override ISegmentationNetwork Network => _network;

    /// <summary>
    /// The network's soft-max for inputs N×C×H×W of any valid height and width (not only the
    /// tile size): the outputs are N×K×H'×W' with H', W' the network's output sizes.
    /// </summary>
    /// <exception cref="ArgumentException">The channels differ from the network's, or a side does not fit it (the message lists the nearest valid sizes).</exception>
    public FloatImages RunNetwork(FloatImages inputs)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        ArgumentNullException.ThrowIfNull(inputs);
        return _network.Run(inputs);
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing) _session.Dispose();
    }
}
