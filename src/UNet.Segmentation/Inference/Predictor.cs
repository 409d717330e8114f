using System.Runtime.InteropServices;
using TorchSharp;
using UNet.Segmentation.Data;
using UNet.Segmentation.Model;
using UNet.Segmentation.Model.Precision;
using UNet.Segmentation.Runtime;
using UNet.Segmentation.Training;
using static TorchSharp.torch;

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

    /// <summary>
    /// Predicts with <paramref name="model"/>, which stays the caller's (it is not disposed with the
    /// predictor); with <see cref="PredictorOptions.Device"/> set, the model is moved there. Turns on
    /// <see cref="FreedMemoryReuse"/> unless <see cref="PredictorOptions.KeepFreedMemory"/> is false.
    /// </summary>
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
        if (Options.KeepFreedMemory) FreedMemoryReuse.Enable();
        // The module's own parameters (not copies): read, never disposed. Moving replaces them, so read again after.
        if (Options.Device is { } device && !SameDevice(model.parameters().First().device, device)) model.to(device);
        var first = model.parameters().First();
        Device = first.device;
        _dtype = first.dtype;
        if (Options.Precision == Precision.Float16 && Device.type != DeviceType.CUDA)
            throw new ArgumentException($"{nameof(PredictorOptions.Precision)} Float16 needs a CUDA device (float16 mixed precision is CUDA only); the model is on {Device}: use BFloat16", nameof(PredictorOptions.Precision));
        InputSize = model.Options.InputSize;
        OutputSize = model.OutputSize(InputSize);
    }

    /// <summary>Loads a model written by <see cref="UNetModel.Save"/> (onto <see cref="PredictorOptions.Device"/>) and predicts with it; the predictor owns and disposes it.</summary>
    /// <exception cref="InvalidDataException">The file holds no U-Net (see <see cref="UNetModel.Load"/>).</exception>
    public static Predictor FromCheckpoint(string path, PredictorOptions? options = null)
    {
        var checkedOptions = (options ?? new PredictorOptions()).EnsureValid();
        if (checkedOptions.KeepFreedMemory) FreedMemoryReuse.Enable(); // before the weights are allocated
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
    /// dispose scope) for images N×C×H×W in [−1, 1] (C = the model's input channels, any H, W ≥ 1).
    /// Runs inside libtorch's inference mode with the model in evaluation mode (its training mode
    /// is restored afterwards), so the result cannot join autograd.
    /// </summary>
    /// <exception cref="ArgumentException">The images are not N×C×H×W floating point with the model's channel count.</exception>
    public Tensor PredictProbabilities(Tensor images)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(images);
        CheckImages(images);
        bool wasTraining = Model.training;
        Model.eval();
        try
        {
            using var scope = NewDisposeScope();
            using var inference = inference_mode();
            var x = images.to(_dtype, Device);
            var result = Options.FlipTta ? PredictFlipAveraged(x) : PredictOnce(x);
            return result.to(images.device).MoveToOuterDisposeScope();
        }
        finally
        {
            if (wasTraining) Model.train();
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
        using var scope = NewDisposeScope();
        var probabilities = PredictProbabilities(Preprocessing.Images(slice, 1, height, width));
        var result = new float[(long)height * width];
        CopyOut(probabilities.select(1, 1), result);
        return result;
    }

    private Tensor PredictOnce(Tensor x) => Options.Input == PredictionInput.SlidingWindow
        ? SlidingWindow.Predict(x, NetworkProbabilities, InputSize, OutputSize, Options.TileOverlap, Options.GaussianBlending, Options.BatchSize)
        : ReferenceResize.Predict(x, NetworkProbabilities, InputSize, OutputSize, Options.BatchSize);

    /// <summary>The mean over the four flips f of f(P(f(x))) (every flip is its own inverse).</summary>
    private Tensor PredictFlipAveraged(Tensor x)
    {
        using var scope = NewDisposeScope();
        var sum = PredictOnce(x).clone();
        foreach (var dims in Flips.Skip(1))
        {
            using var inner = NewDisposeScope();
            sum.add_(PredictOnce(x.flip(dims)).flip(dims));
        }
        return sum.div_(Flips.Length).MoveToOuterDisposeScope();
    }

    private Tensor NetworkProbabilities(Tensor batch)
    {
        using var scope = NewDisposeScope();
        var input = Options.MemoryFormat switch
        {
            memory_format.channels_last => ChannelsLast.Of(batch),
            memory_format.contiguous_format => batch.contiguous(),
            _ => batch,
        };
        Tensor logits;
        using (Options.Precision.AutocastType() is { } type ? MixedPrecision.Enter(type, Device.type) : null)
            logits = Model.call(input);
        // Mixed precision gives bfloat16/float16 logits: the soft-max runs in float32.
        return logits.softmax(1, ScalarType.Float32).MoveToOuterDisposeScope();
    }

    /// <summary>Copies the elements of a float32 tensor (any device or layout) into <paramref name="destination"/>, row-major.</summary>
    private static void CopyOut(Tensor source, Span<float> destination)
    {
        using var scope = NewDisposeScope();
        var host = source.cpu().contiguous();
        if (host.numel() != destination.Length)
            throw new InvalidOperationException($"{host.numel()} values do not fit {destination.Length} elements");
        MemoryMarshal.Cast<byte, float>(host.bytes).CopyTo(destination);
    }

    /// <summary>Copies the elements of a uint8 tensor (any device or layout) into <paramref name="destination"/>, row-major.</summary>
    private static void CopyOut(Tensor source, Span<byte> destination)
    {
        using var scope = NewDisposeScope();
        var host = source.cpu().contiguous();
        if (host.numel() != destination.Length)
            throw new InvalidOperationException($"{host.numel()} values do not fit {destination.Length} elements");
        host.bytes.CopyTo(destination);
    }

    /// <summary>Whether a model on <paramref name="current"/> already sits on <paramref name="wanted"/> (a CUDA device without an index means cuda:0).</summary>
    private static bool SameDevice(Device current, Device wanted) =>
        current.type == wanted.type && (current.type != DeviceType.CUDA || Math.Max(current.index, 0) == Math.Max(wanted.index, 0));

    private void CheckImages(Tensor images)
    {
        var shape = images.shape;
        if (shape.Length != 4 || shape[0] < 1 || shape[2] < 1 || shape[3] < 1)
            throw new ArgumentException($"images must be N×C×H×W with N, H, W ≥ 1; got [{string.Join(", ", shape)}]", nameof(images));
        if (shape[1] != Model.Options.InputChannels)
            throw new ArgumentException($"the model takes {Model.Options.InputChannels} channel(s); the images have {shape[1]}", nameof(images));
        if (!images.is_floating_point())
            throw new ArgumentException($"images must be floating point in [−1, 1], not {images.dtype} (Preprocessing.Images scales 8-bit slices)", nameof(images));
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
