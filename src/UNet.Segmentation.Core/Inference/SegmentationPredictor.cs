namespace UNet.Segmentation.Inference;

/// <summary>
/// What every predictor does, whatever engine runs the network (<c>Predictor</c> on TorchSharp,
/// <c>OnnxPredictor</c> on ONNX Runtime): probabilities at the input's resolution by the options'
/// path (<see cref="ProbabilityMaps"/>), and the files out (<see cref="PredictVolume"/>,
/// <see cref="PredictImageFile"/>) and in memory (<c>PredictImage</c>). A subclass gives the
/// <see cref="Network"/>. Safe for concurrent calls: the pipeline keeps no state between calls
/// (every call allocates its own arrays) and both engines' networks may run side by side; disposing
/// while calls run is not supported.
/// </summary>
/// <typeparam name="TOptions">The engine's options.</typeparam>
public abstract partial class SegmentationPredictor<TOptions> : IDisposable where TOptions : PredictionOptions
{
    /// <summary>Keeps the (validated) options.</summary>
    protected SegmentationPredictor(TOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
    }

    /// <summary>The (validated) options.</summary>
    public TOptions Options { get; }

    /// <summary>The network the pipeline runs.</summary>
    protected abstract ISegmentationNetwork Network { get; }

    /// <summary>Whether <see cref="Dispose()"/> has run.</summary>
    protected bool IsDisposed { get; private set; }

    /// <summary>The network's input channels C.</summary>
    public int InputChannels => Network.InputChannels;

    /// <summary>The network's classes K.</summary>
    public int Classes => Network.Classes;

    /// <summary>The network's input size S_in (572 for the reference): the tile, or the padded resized image.</summary>
    public int InputSize => Network.InputSize;

    /// <summary>The network's output size S_out (388 for the reference).</summary>
    public int OutputSize => Network.OutputSize;

    /// <summary>Pixels lost on each side by valid convolutions: (S_in − S_out)/2 (92 for the reference, 0 with 'same' padding).</summary>
    public int Margin => (InputSize - OutputSize) / 2;

    /// <summary>
    /// Soft-max probabilities N×K×H×W for images N×C×H×W in [−1, 1] (C = the network's input
    /// channels, any H, W ≥ 1), by <see cref="PredictionOptions.Input"/>, averaged over flips with
    /// <see cref="PredictionOptions.FlipTta"/>, then post-processed by <see cref="PredictionOptions.PostProcessing"/> when set.
    /// </summary>
    /// <exception cref="ArgumentException">The images have another number of channels.</exception>
    /// <exception cref="InvalidOperationException">Post-processing is set and the network does not have two classes.</exception>
    public FloatImages PredictProbabilities(FloatImages images)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        ArgumentNullException.ThrowIfNull(images);
        if (Options.PostProcessing is { } post && Classes != 2)
            throw new InvalidOperationException($"{nameof(PredictionOptions.PostProcessing)} needs a two-class network (membrane, interior); this one has {Classes} classes");
        var maps = ProbabilityMaps.Predict(images, Network, Options);
        if (Options.PostProcessing is { } removal)
            for (int i = 0; i < maps.Count; i++) removal.Apply(maps, i);
        return maps;
    }

    /// <summary>
    /// The interior probability (class 1) of each pixel of an 8-bit slice (row-major, height ×
    /// width), scaled x/127.5 − 1 as in training: 0 = membrane certain, 1 = interior certain, the
    /// ISBI 2012 submission convention.
    /// </summary>
    /// <exception cref="InvalidOperationException">The network does not take one channel or has fewer than two classes.</exception>
    public float[] PredictSlice(ReadOnlySpan<byte> slice, int height, int width)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        if (slice.Length != (long)height * width)
            throw new ArgumentException($"the slice holds {slice.Length} pixels; {height}x{width} needs {(long)height * width}", nameof(slice));
        CheckGreyTwoClass();
        var probabilities = PredictProbabilities(FloatImages.FromGrayBytes(slice, 1, height, width));
        return probabilities.Plane(0, 1).ToArray();
    }

    /// <summary>Throws unless the network takes one grey channel and has a class 1 (interior), as slices need.</summary>
    protected void CheckGreyTwoClass()
    {
        if (Network.InputChannels != 1 || Network.Classes < 2)
            throw new InvalidOperationException(
                $"slices need a model with 1 input channel and at least 2 classes (class 1 = interior); this one has {Network.InputChannels} channel(s) and {Network.Classes} class(es)");
    }

    /// <summary>Releases the engine's resources (<see cref="Dispose(bool)"/>) once.</summary>
    public void Dispose()
    {
        if (IsDisposed) return;
        IsDisposed = true;
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases what the engine holds (a model, a session) when <paramref name="disposing"/>.</summary>
    protected virtual void Dispose(bool disposing)
    {
    }
}
