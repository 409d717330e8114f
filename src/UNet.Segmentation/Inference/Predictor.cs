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
/// averaged over flips. Safe for concurrent calls from several threads (see
/// <see cref="SegmentationPredictor{TOptions}"/>), as long as nobody else switches the model's
/// training mode or changes its weights meanwhile.
/// </summary>
/// <example><code>
/// using var predictor = Predictor.FromCheckpoint("unet.safetensors", PredictorOptions.Tiled);
/// predictor.PredictVolume("test-volume.tif", "test-probabilities.tif", "test-masks.tif");
/// </code></example>
public sealed partial class Predictor : SegmentationPredictor<PredictorOptions>
{
    private readonly bool _ownsModel;
    private readonly ScalarType _dtype;
    private readonly TorchNetwork _network;
    private readonly MixedPrecisionModel? _mixed;
    private readonly bool _ownsMixed;

    /// <summary>
    /// Predicts with <paramref name="model"/>, which stays the caller's (it is not disposed with the
    /// predictor); with <see cref="PredictorOptions.Device"/> set, the model is moved there. Turns on
    /// <see cref="FreedMemoryReuse"/> unless <see cref="PredictorOptions.KeepFreedMemory"/> is false.
    /// In <see cref="Precision.BFloat16"/> or <see cref="Precision.Float16"/> the predictor runs a
    /// <see cref="MixedPrecisionModel"/> working copy of the weights made here, once: weights
    /// changed after the predictor is built are not seen (build a new predictor).
    /// </summary>
    /// <exception cref="ArgumentException">An option is invalid; the parameter name is the option's.</exception>
    public Predictor(UNetModel model, PredictorOptions? options = null) : this(model, options, ownsModel: false)
    {
    }

    /// <summary>A predictor that runs mixed precision on <paramref name="shared"/> (a working copy of <paramref name="model"/> kept in step by its owner) instead of making its own.</summary>
    internal Predictor(UNetModel model, PredictorOptions? options, MixedPrecisionModel? shared) : this(model, options, ownsModel: false, shared)
    {
    }

    private Predictor(UNetModel model, PredictorOptions? options, bool ownsModel, MixedPrecisionModel? shared = null)
        : base((options ?? new PredictorOptions()).EnsureValid())
    {
        ArgumentNullException.ThrowIfNull(model);
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
        if (Options.Precision.ComputeType() is { } computeType)
        {
            if (shared is not null && shared.ComputeType == computeType && ReferenceEquals(shared.Master, model)) _mixed = shared;
            else
            {
                _mixed = new MixedPrecisionModel(model, computeType);
                _mixed.Working.eval(); // the predictor's own copy: in evaluation mode for good
                _ownsMixed = true;
            }
        }
        _network = new TorchNetwork(this);
    }

    /// <summary>Loads a model written by <see cref="UNetModel.Save"/> (onto <see cref="PredictorOptions.Device"/>, in evaluation mode) and predicts with it; the predictor owns and disposes it.</summary>
    /// <exception cref="InvalidDataException">The file holds no U-Net (see <see cref="UNetModel.Load(string, Device?)"/>).</exception>
    public static Predictor FromCheckpoint(string path, PredictorOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        return FromLoadedModel(device => UNetModel.Load(path, device), options);
    }

    /// <summary>
    /// Loads a model from checkpoint bytes in <paramref name="checkpoint"/> (from its position to its
    /// end; see <see cref="UNetModel.Load(Stream, Device?)"/>) and predicts with it; the predictor owns
    /// the model, the stream stays the caller's.
    /// </summary>
    /// <exception cref="Serialization.SafetensorsFormatException">The bytes are not safetensors (the message says "the checkpoint stream").</exception>
    /// <exception cref="InvalidDataException">They hold no U-Net.</exception>
    public static Predictor FromCheckpoint(Stream checkpoint, PredictorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        return FromLoadedModel(device => UNetModel.Load(checkpoint, device), options);
    }

    /// <summary>Loads a model from checkpoint bytes in memory (<see cref="UNetModel.Load(ReadOnlyMemory{byte}, Device?)"/>) and predicts with it; the predictor owns the model.</summary>
    /// <exception cref="Serialization.SafetensorsFormatException">The bytes are not safetensors (the message says "the checkpoint bytes").</exception>
    /// <exception cref="InvalidDataException">They hold no U-Net.</exception>
    public static Predictor FromCheckpoint(ReadOnlyMemory<byte> checkpoint, PredictorOptions? options = null) =>
        FromLoadedModel(device => UNetModel.Load(checkpoint, device), options);

    private static Predictor FromLoadedModel(Func<Device?, UNetModel> load, PredictorOptions? options)
    {
        var checkedOptions = (options ?? new PredictorOptions()).EnsureValid();
        if (checkedOptions.KeepFreedMemory) FreedMemoryReuse.Enable(); // before the weights are allocated
        var model = load(checkedOptions.Device);
        try
        {
            model.eval(); // the predictor's own model: in evaluation mode for good, so concurrent calls never toggle it
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

    /// <summary>Where the model runs.</summary>
    public Device Device { get; }

    /// <inheritdoc/>
    protected override ISegmentationNetwork Network => _network;

    /// <summary>
    /// Soft-max probabilities N×classes×H×W (float32, on the images' device, owned by the current
    /// dispose scope) for images N×C×H×W in [−1, 1] (C = the model's input channels, any H, W ≥ 1):
    /// the images go through the shared array pipeline (<see cref="SegmentationPredictor{TOptions}.PredictProbabilities(FloatImages)"/>),
    /// whose network inputs run on <see cref="Device"/> inside libtorch's inference mode with the
    /// model in evaluation mode (its training mode is restored afterwards), so the result cannot join autograd.
    /// </summary>
    /// <exception cref="ArgumentException">The images are not N×C×H×W floating point with the model's channel count.</exception>
    public Tensor PredictProbabilities(Tensor images)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        ArgumentNullException.ThrowIfNull(images);
        CheckImages(images);
        var shape = images.shape;
        var values = new float[images.numel()];
        CopyOut(images.to(ScalarType.Float32), values);
        var p = PredictProbabilities(new FloatImages(values, (int)shape[0], (int)shape[1], (int)shape[2], (int)shape[3]));
        return tensor(p.Data, [p.Count, p.Channels, p.Height, p.Width], device: images.device);
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

    /// <summary>Disposes the model when the predictor loaded it (<see cref="FromCheckpoint(string, PredictorOptions?)"/>); a model passed in stays the caller's.</summary>
    protected override void Dispose(bool disposing)
    {
        if (!disposing) return;
        _network.ModeLock.Dispose();
        if (_ownsMixed) _mixed!.Dispose();
        if (_ownsModel) Model.Dispose();
    }

    /// <summary>The model as the array pipeline's network: inputs to <see cref="Device"/> in the model's type (or the working copy's), the options' memory format and precision, soft-max in float32, back to the host.</summary>
    private sealed class TorchNetwork(Predictor owner) : ISegmentationNetwork
    {
        // The network that runs: the working copy in mixed precision, else the model itself.
        private readonly UNetModel _model = owner._mixed?.Working ?? owner.Model;

        public int InputChannels => _model.Options.InputChannels;

        public int Classes => _model.Options.Classes;

        public int InputSize => _model.Options.InputSize;

        public int OutputSize => _model.OutputSize(InputSize);

        /// <summary>A SHA-256 of the model's parameters and buffers (names, types and values) as they are now.</summary>
        public string Fingerprint()
        {
            using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
            using var scope = torch.NewDisposeScope();
            foreach (var (name, tensor) in owner.Model.state_dict())
            {
                hash.AppendData(System.Text.Encoding.UTF8.GetBytes($"{name}:{tensor.dtype}:{string.Join('x', tensor.shape)};"));
                using var host = tensor.detach().cpu().contiguous();
                hash.AppendData(host.bytes);
            }
            return Convert.ToHexStringLower(hash.GetHashAndReset());
        }

        /// <summary>
        /// Calls on a model in evaluation mode run side by side (read lock: nothing is toggled); a model
        /// in training mode is switched to evaluation and back under the write lock, one call at a time.
        /// </summary>
        public ReaderWriterLockSlim ModeLock { get; } = new(LockRecursionPolicy.NoRecursion);

        public void Probabilities(ReadOnlySpan<float> inputs, int count, Span<float> probabilities)
        {
            ModeLock.EnterReadLock();
            try
            {
                if (!_model.training)
                {
                    Forward(inputs, count, probabilities);
                    return;
                }
            }
            finally
            {
                ModeLock.ExitReadLock();
            }
            ModeLock.EnterWriteLock();
            try
            {
                bool wasTraining = _model.training;
                _model.eval();
                try
                {
                    Forward(inputs, count, probabilities);
                }
                finally
                {
                    if (wasTraining) _model.train();
                }
            }
            finally
            {
                ModeLock.ExitWriteLock();
            }
        }

        private void Forward(ReadOnlySpan<float> inputs, int count, Span<float> probabilities)
        {
            using var scope = NewDisposeScope();
            using var inference = inference_mode();
            bool channelsLast = owner.Options.MemoryFormat == memory_format.channels_last;
            Tensor logits;
            if (owner._mixed is { } mixed)
            {
                // One conversion: to the compute type, and channels-last with it when asked.
                var batch = tensor(inputs.ToArray(), [count, InputChannels, InputSize, InputSize]).to(owner.Device);
                logits = mixed.Forward(batch, float32Logits: false, channelsLast || _model.Options.ChannelsLast);
            }
            else
            {
                var batch = tensor(inputs.ToArray(), [count, InputChannels, InputSize, InputSize]).to(owner._dtype, owner.Device);
                logits = _model.call(channelsLast ? ChannelsLast.Of(batch) : batch.contiguous());
            }
            // Mixed precision gives bfloat16/float16 logits: the soft-max runs in float32.
            CopyOut(logits.softmax(1, ScalarType.Float32), probabilities);
        }
    }
}
