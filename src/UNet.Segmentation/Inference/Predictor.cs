using UNet.Segmentation.Data;
using UNet.Segmentation.Model;
using UNet.Segmentation.Torch;
using UNet.Segmentation.Training;

namespace UNet.Segmentation.Inference;

/// <summary>
/// Segments images with a trained <see cref="UNetModel"/>: soft-max probabilities at the input's
/// resolution, by the reference's resize path or by overlap-tile sliding windows, optionally
/// averaged over flips. Not safe for concurrent use; one predictor per thread.
/// </summary>
/// <example><code>
/// using var predictor = Predictor.FromCheckpoint("unet.safetensors", PredictorOptions.Tiled);
/// predictor.PredictVolume("test-volume.tif", "test-probabilities.tif", "test-masks.tif");
/// </code></example>
public sealed partial class Predictor : IDisposable
{
    private static readonly long[][] Flips = [[], [3], [2], [2, 3]];
    private readonly bool _ownsModel;
    private readonly ScalarType _dtype;
    private bool _disposed;

    /// <summary>Predicts with <paramref name="model"/>, which stays the caller's (it is not disposed with the predictor); with <see cref="PredictorOptions.Device"/> set, the model is moved there.</summary>
    /// <exception cref="ArgumentException">An option is invalid; the parameter name is the option's.</exception>
    public Predictor(UNetModel model, PredictorOptions? options = null) : this(model, options, ownsModel: false)
    {
    }

    private Predictor(UNetModel model, PredictorOptions? options, bool ownsModel)
    {
        ArgumentNullException.ThrowIfNull(model);
        Options = (options ?? new PredictorOptions()).EnsureValid();
        Model = model;
        _ownsModel = ownsModel;
        var first = model.Parameters()[0];
        if (Options.Device is { } device && first.Device != device) model.To(device: device);
        Device = first.Device;
        if (Options.Precision == Precision.Float16 && Device.Type != DeviceType.Cuda)
            throw new ArgumentException($"{nameof(PredictorOptions.Precision)} Float16 needs a CUDA device (libtorch's CPU autocast is bfloat16 only); the model is on {Device}: use BFloat16", nameof(PredictorOptions.Precision));
        _dtype = first.Dtype;
        InputSize = model.Options.InputSize;
        OutputSize = model.OutputSize(InputSize);
    }

    /// <summary>Loads a model written by <see cref="UNetModel.Save"/> (onto <see cref="PredictorOptions.Device"/>) and predicts with it; the predictor owns and disposes it.</summary>
    /// <exception cref="InvalidDataException">The file holds no U-Net (see <see cref="UNetModel.Load"/>).</exception>
    public static Predictor FromCheckpoint(string path, PredictorOptions? options = null)
    {
        var checkedOptions = (options ?? new PredictorOptions()).EnsureValid();
        var model = UNetModel.Load(path, checkedOptions.Device);
        try
        {
            return new Predictor(model, checkedOptions, ownsModel: true);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>The network.</summary>
    public UNetModel Model { get; }

    /// <summary>The (validated) options.</summary>
    public PredictorOptions Options { get; }

    /// <summary>Where the model runs.</summary>
    public Device Device { get; }

    /// <summary>The network's input size S_in (572 for the reference): the tile, or the padded resized image.</summary>
    public int InputSize { get; }

    /// <summary>The network's output size S_out (388 for the reference).</summary>
    public int OutputSize { get; }

    /// <summary>Pixels lost on each side by valid convolutions: (S_in − S_out)/2 (92 for the reference, 0 with 'same' padding).</summary>
    public int Margin => (InputSize - OutputSize) / 2;

    /// <summary>
    /// Soft-max probabilities N×classes×H×W (float32, on the images' device, owned by the current
    /// scope) for images N×C×H×W in [−1, 1] (C = the model's input channels, any H, W ≥ 1).
    /// Runs inside libtorch's inference mode with the model in evaluation mode (its training mode
    /// is restored afterwards), so the result cannot join autograd.
    /// </summary>
    /// <exception cref="ArgumentException">The images are not N×C×H×W floating point with the model's channel count.</exception>
    public Tensor PredictProbabilities(Tensor images)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(images);
        CheckImages(images);
        bool wasTraining = Model.IsTraining;
        Model.Eval();
        try
        {
            using var scope = TensorScope.Begin();
            using var inference = Autograd.InferenceMode();
            var x = images.To(dtype: _dtype, device: Device);
            var result = Options.FlipTta ? PredictFlipAveraged(x) : PredictOnce(x);
            return scope.MoveToOuter(result.To(images.Device));
        }
        finally
        {
            if (wasTraining) Model.Train();
        }
    }

    /// <summary>
    /// The interior probability (class 1) of each pixel of an 8-bit slice (row-major, height ×
    /// width), scaled x/127.5 − 1 as in training: 0 = membrane certain, 1 = interior certain, the
    /// ISBI 2012 submission convention.
    /// </summary>
    /// <exception cref="InvalidOperationException">The model does not take one channel or has fewer than two classes.</exception>
    public float[] PredictSlice(ReadOnlySpan<byte> slice, int height, int width)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        if (slice.Length != (long)height * width)
            throw new ArgumentException($"the slice holds {slice.Length} pixels; {height}x{width} needs {(long)height * width}", nameof(slice));
        CheckGreyTwoClass();
        using var scope = TensorScope.Begin();
        var probabilities = PredictProbabilities(Preprocessing.Images(slice, 1, height, width));
        return probabilities.Select(1, 1).Contiguous().ToArray<float>();
    }

    private Tensor PredictOnce(Tensor x) => Options.Input == PredictionInput.SlidingWindow
        ? SlidingWindow.Predict(x, NetworkProbabilities, InputSize, OutputSize, Options.TileOverlap, Options.GaussianBlending, Options.BatchSize)
        : ReferenceResize.Predict(x, NetworkProbabilities, InputSize, OutputSize, Options.BatchSize);

    /// <summary>The mean over the four flips f of f(P(f(x))) (every flip is its own inverse).</summary>
    private Tensor PredictFlipAveraged(Tensor x)
    {
        using var scope = TensorScope.Begin();
        var sum = PredictOnce(x).Clone();
        foreach (var dims in Flips.Skip(1))
        {
            using var inner = TensorScope.Begin();
            sum.Add_(PredictOnce(x.Flip(dims)).Flip(dims));
        }
        return scope.MoveToOuter(sum.Div_(Flips.Length));
    }

    private Tensor NetworkProbabilities(Tensor batch)
    {
        using var scope = TensorScope.Begin();
        var input = Options.MemoryFormat is { } format ? batch.Contiguous(format) : batch;
        Tensor logits;
        using (Options.Precision.Autocast(Device.Type)) logits = Model.Forward(input);
        return scope.MoveToOuter(logits.Softmax(1, ScalarType.Float32));
    }

    private void CheckImages(Tensor images)
    {
        var shape = images.Shape;
        if (shape.Length != 4 || shape[0] < 1 || shape[2] < 1 || shape[3] < 1)
            throw new ArgumentException($"images must be N×C×H×W with N, H, W ≥ 1; got [{string.Join(", ", shape)}]", nameof(images));
        if (shape[1] != Model.Options.InputChannels)
            throw new ArgumentException($"the model takes {Model.Options.InputChannels} channel(s); the images have {shape[1]}", nameof(images));
        if (!images.Dtype.IsFloatingPoint())
            throw new ArgumentException($"images must be floating point in [−1, 1], not {images.Dtype} (Preprocessing.Images scales 8-bit slices)", nameof(images));
    }

    private void CheckGreyTwoClass()
    {
        if (Model.Options.InputChannels != 1 || Model.Options.Classes < 2)
            throw new InvalidOperationException(
                $"slices need a model with 1 input channel and at least 2 classes (class 1 = interior); this one has {Model.Options.InputChannels} channel(s) and {Model.Options.Classes} class(es)");
    }

    /// <summary>Disposes the model when the predictor loaded it (<see cref="FromCheckpoint"/>); a model passed in stays the caller's.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_ownsModel) Model.Dispose();
    }
}
