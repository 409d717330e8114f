using TorchSharp;
using UNet.Segmentation.Data.Msd;
using UNet.Segmentation.Model.NnUNet;
using static TorchSharp.torch;
using UNet.Segmentation.Runtime;

namespace UNet.Segmentation.Inference.NnUNet;

/// <summary>
/// Sliding-window prediction of whole 2-D or 3-D volumes with an nnU-Net (or any network that maps
/// N×C×window to N×classes×window), as NVIDIA's nnUNet predicts through MONAI's
/// <c>sliding_window_inference</c>: an axis shorter than the window is padded with zeros (⌊d/2⌋
/// before), windows start where <see cref="WindowGrid"/> says, their logits are weighted
/// (<see cref="GaussianWeights.Create(IReadOnlyList{int}, double)"/> or 1), summed and divided by the
/// summed weights, the padding is cut off, and <see cref="PredictProbabilities(Tensor)"/> takes the softmax
/// over the classes. With test-time augmentation the logits of each window are averaged over its
/// mirrored copies before blending (the reference mirrors the whole volume; per window the same
/// number of forward passes is needed, and the two agree exactly where one window covers the volume).
/// </summary>
public sealed class NnUNetSlidingWindow : IDisposable
{
    private readonly nn.Module<Tensor, Tensor> _network;
    private readonly NnUNetModel? _ownedCopy;
    private readonly int[] _window;
    private readonly int _inputChannels, _classes;
    private readonly Tensor _weights;
    private readonly long[][] _flips;

    /// <summary>A predictor for <paramref name="model"/>, whose window is its options' patch size; the model is put in eval mode. With bfloat16 a converted copy is made here (the model itself is left alone).</summary>
    /// <exception cref="ArgumentException">The model's options have no patch size.</exception>
    public NnUNetSlidingWindow(NnUNetModel model, NnUNetPredictionOptions? options = null)
        : this(model, (model ?? throw new ArgumentNullException(nameof(model))).Options.PatchSize
            ?? throw new ArgumentException("the model's options have no patch size to use as the window", nameof(model)),
            model.Options.InputChannels, model.Options.Classes, options)
    {
    }

    /// <summary>A predictor for any <paramref name="network"/> taking N×<paramref name="inputChannels"/>×<paramref name="window"/> to N×<paramref name="classes"/>×<paramref name="window"/> (put in eval mode). bfloat16 needs an <see cref="NnUNetModel"/>.</summary>
    public NnUNetSlidingWindow(nn.Module<Tensor, Tensor> network, IReadOnlyList<int> window, int inputChannels, int classes, NnUNetPredictionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(window);
        if (window.Count is not (2 or 3) || window.Any(s => s < 1))
            throw new ArgumentException($"the window must be 2 or 3 sizes of at least 1 (got {string.Join("×", window)})", nameof(window));
        ArgumentOutOfRangeException.ThrowIfLessThan(inputChannels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 1);
        Options = (options ?? new NnUNetPredictionOptions()).EnsureValid();
        _window = window.ToArray();
        _inputChannels = inputChannels;
        _classes = classes;
        network.eval();
        var device = network.parameters().FirstOrDefault()?.device ?? CPU;
        if (Options.Precision == ScalarType.BFloat16)
        {
            if (network is not NnUNetModel model)
                throw new ArgumentException("a bfloat16 copy can only be made of an NnUNetModel", nameof(network));
            // Building the copy must not move the generator (its initial weights are overwritten at once).
            using (var rng = get_rng_state())
            {
                _ownedCopy = new NnUNetModel(model.Options);
                set_rng_state(rng);
            }
            var source = model.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);
            using (no_grad())
                foreach (var (name, parameter) in _ownedCopy.named_parameters())
                    parameter.copy_(source[name]);
            // Only the convolutions compute in bfloat16: instance norm takes their bfloat16 output
            // with its float32 affine parameters (CPU and CUDA kernels accept the mix).
            foreach (var module in _ownedCopy.modules())
                if (module is TorchSharp.Modules.Convolution) module.to(ScalarType.BFloat16);
            _ownedCopy.to(device).eval();
            _network = _ownedCopy;
        }
        else
        {
            _network = network;
        }
        var weights = Options.Gaussian ? GaussianWeights.Create(_window, Options.SigmaFraction) : Enumerable.Repeat(1f, _window.Aggregate(1, (a, b) => a * b)).ToArray();
        _weights = tensor(weights, _window.Select(s => (long)s).ToArray(), device: device);
        int dims = _window.Length;
        _flips = Enumerable.Range(0, 1 << dims).Select(mask => Enumerable.Range(0, dims).Where(d => (mask >> d & 1) != 0).Select(d => (long)d + 2).ToArray()).ToArray();
    }

    /// <summary>The options in use.</summary>
    public NnUNetPredictionOptions Options { get; }

    /// <summary>The window (the patch size), spatial sizes.</summary>
    public IReadOnlyList<int> Window => _window;

    /// <summary>How many forward passes per window: 1, or 8 (3-D) / 4 (2-D) with test-time augmentation.</summary>
    public int PassesPerWindow => Options.TestTimeAugmentation ? _flips.Length : 1;

    /// <summary>The blended logits, float32 classes×(D×)H×W on the network's device, for a C×(D×)H×W image (float32).</summary>
    /// <exception cref="ArgumentException">The image's rank or channels do not fit (the message says which).</exception>
    public Tensor PredictLogits(Tensor image)
    {
        ArgumentNullException.ThrowIfNull(image);
        int dims = _window.Length;
        if (image.dim() != dims + 1)
            throw new ArgumentException($"the image must be C×{(dims == 3 ? "D×" : "")}H×W ({dims + 1} dimensions); got {image.dim()}", nameof(image));
        if (image.shape[0] != _inputChannels)
            throw new ArgumentException($"the network takes {_inputChannels} channel(s); the image has {image.shape[0]}", nameof(image));
        using var scope = NewDisposeScope();
        using var images = image.unsqueeze(0);
        return LogitsOfMany(images)[0].contiguous().MoveToOuterDisposeScope();
    }

    // The blended logits N×classes×spatial of N images of one size (N×C×spatial): every image's
    // windows at the same starts, batched together across the images, each blended into its own sum.
    private Tensor LogitsOfMany(Tensor images)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        int dims = _window.Length;
        var device = _weights.device;
        long count = images.shape[0];
        var size = images.shape[2..].Select(s => (int)s).ToArray();
        var padded = size.Select((s, d) => Math.Max(s, _window[d])).ToArray();
        var before = size.Select((s, d) => (padded[d] - s) / 2).ToArray();
        var x = images.to(ScalarType.Float32).to(device);
        if (!padded.SequenceEqual(size))
        {
            var pad = new long[2 * dims];
            for (int d = 0; d < dims; d++)
            {
                pad[2 * (dims - 1 - d)] = before[d];
                pad[2 * (dims - 1 - d) + 1] = padded[d] - size[d] - before[d];
            }
            x = nn.functional.pad(x, pad);
        }
        var sum = zeros([count, _classes, .. padded.Select(s => (long)s)], device: device);
        var weightSum = zeros(padded.Select(s => (long)s).ToArray(), device: device);
        var starts = WindowGrid.AllStarts(padded, _window, Options.Overlap);
        foreach (var start in starts)
        {
            using var weightTarget = Narrow(weightSum, start, 0);
            weightTarget.PlusInPlace(_weights);   // held alpha (Runtime/HeldScalars.cs)
        }
        var windows = Enumerable.Range(0, (int)count).SelectMany(n => starts.Select(start => (Image: (long)n, Start: start))).ToList();
        for (int first = 0; first < windows.Count; first += Options.BatchSize)
        {
            using var batchScope = NewDisposeScope();
            var batch = windows.Skip(first).Take(Options.BatchSize).ToList();
            var inputs = stack(batch.Select(w => Narrow(x[w.Image], w.Start, 1)).ToArray());
            var logits = Forward(inputs);
            for (int b = 0; b < batch.Count; b++)
                Narrow(sum[batch[b].Image], batch[b].Start, 1).PlusInPlace(logits[b] * _weights);
        }
        var result = sum.div_(weightSum);
        if (!padded.SequenceEqual(size))
        {
            result = Narrow(result, before, 2, size);
        }
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>Softmax probabilities over the classes, float32 classes×(D×)H×W, for a C×(D×)H×W image.</summary>
    public Tensor PredictProbabilities(Tensor image)
    {
        using var logits = PredictLogits(image);
        return logits.softmax(0);
    }

    /// <summary>
    /// Softmax probabilities (classes×D×H×W on the CPU) of a preprocessed volume (C×D×H×W): with a
    /// 3-D network, the sliding window over the volume; with a 2-D network, over each axial slice
    /// (C×H×W at every z; the windows of all the slices go through the network
    /// <see cref="NnUNetPredictionOptions.BatchSize"/> at a time), the slices' probabilities stacked
    /// back along z, as nnU-Net's 2-D configuration predicts a volume. Each slice gets what
    /// <see cref="PredictProbabilities(Tensor)"/> gives it alone.
    /// </summary>
    /// <exception cref="ArgumentException">The volume's channels do not fit the network.</exception>
    public Volume<float> PredictProbabilities(Volume<float> image)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.Channels != _inputChannels)
            throw new ArgumentException($"the network takes {_inputChannels} channel(s); the volume has {image.Channels}", nameof(image));
        using var scope = NewDisposeScope();
        var s = image.Shape;
        var input = tensor(image.Data, [image.Channels, s.Depth, s.Height, s.Width]);
        if (_window.Length == 3) return ToVolume(PredictProbabilities(input).cpu(), s);
        // The slices as a batch of images (D×C×H×W): their windows go through the network together.
        var slices = input.permute(1, 0, 2, 3);
        var probabilities = LogitsOfMany(slices).softmax(1).permute(1, 0, 2, 3).cpu().contiguous();
        return ToVolume(probabilities, s);
    }

    private Volume<float> ToVolume(Tensor probabilities, Shape3D shape) => new(probabilities.data<float>().ToArray(), _classes, shape);

    // The network's logits (float32) for N×C×window inputs, averaged over the mirrored copies with TTA.
    private Tensor Forward(Tensor inputs)
    {
        using var scope = NewDisposeScope();
        var computeType = Options.Precision;
        var flips = Options.TestTimeAugmentation ? _flips : _flips.Take(1);
        Tensor? total = null;
        foreach (var axes in flips)
        {
            var x = axes.Length == 0 ? inputs : inputs.flip(axes);
            var y = _network.forward(x.to(computeType)).to(ScalarType.Float32);
            if (axes.Length != 0) y = y.flip(axes);
            total = total is null ? y : total.PlusInPlace(y);
        }
        using Scalar flipCount = _flips.Length.ToScalar();   // held until the call returns (see Training/Losses.cs, Two)
        if (Options.TestTimeAugmentation) total!.div_(flipCount);
        return total!.MoveToOuterDisposeScope();
    }

    // The view of t (dimensions from `first` on spatial) at `starts`, window-sized or `sizes`.
    private Tensor Narrow(Tensor t, IReadOnlyList<int> starts, int first, IReadOnlyList<int>? sizes = null)
    {
        var view = t.alias();
        for (int d = 0; d < starts.Count; d++)
        {
            var next = view.narrow(first + d, starts[d], (sizes ?? _window)[d]);
            view.Dispose();
            view = next;
        }
        return view;
    }

    /// <summary>Frees the weights and the bfloat16 copy, if any (not the caller's model).</summary>
    public void Dispose()
    {
        _weights.Dispose();
        if (_ownedCopy is null) return;
        foreach (var parameter in _ownedCopy.parameters()) parameter.Dispose();
        _ownedCopy.Dispose();
    }
}
