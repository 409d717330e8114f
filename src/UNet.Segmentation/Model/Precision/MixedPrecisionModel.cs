using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using UNet.Segmentation.Runtime;

namespace UNet.Segmentation.Model.Precision;

/// <summary>
/// Mixed precision for the U-Net without per-layer casts (TorchSharp 0.107 has no autocast,
/// TorchSharp issue #899): a working copy of a float32 <see cref="Master"/> model whose
/// convolution and transposed-convolution weights and biases are held in the compute type
/// (bfloat16 on CPU or CUDA, float16 on CUDA), so every layer's input and weights already match
/// and the blocks cast nothing. The master keeps the float32 weights the optimizer updates and
/// checkpoints, evaluation and export read; batch-norm weights and running statistics stay
/// float32 in the working copy too (libtorch's batch norm takes a low-precision input with
/// float32 parameters), copied rather than cast.
/// <para>
/// The conversions, all counted in <see cref="Casts"/>: <see cref="Forward(Tensor, bool)"/> casts the input
/// once (and the logits once, to float32, when asked); <see cref="GradientsToMaster"/> casts
/// each low-precision weight's gradient into its master's float32 gradient, and
/// <see cref="Refresh"/> casts each master weight into its low-precision copy — one each per
/// tensor of <see cref="CastParameterCount"/>. A training step is therefore
/// 2 × <see cref="CastParameterCount"/> + 2 casts (46 tensors, 94 casts, for the reference U-Net),
/// whatever the model's size; inference is the input's cast alone once the copy is made.
/// </para>
/// Not thread-safe for training; forward passes in evaluation mode may run side by side.
/// </summary>
public sealed class MixedPrecisionModel : IDisposable
{
    private readonly (Tensor Master, Parameter Working, bool Cast)[] _parameters;
    private readonly (Tensor Master, Tensor Working)[] _buffers;
    private long _casts;
    private readonly nn.Module _master, _working;
    private readonly bool _channelsLast;
    private bool _disposed;

    /// <summary>
    /// Makes the working copy of <paramref name="master"/> in <paramref name="computeType"/>, on the
    /// master's device and with its layout (channels-last weights stay channels-last), in the
    /// master's training mode. The master stays the caller's.
    /// </summary>
    /// <exception cref="ArgumentException">The type is not bfloat16 or float16, float16 is asked on a device other than CUDA, or the master is not float32.</exception>
    public MixedPrecisionModel(UNetModel master, ScalarType computeType)
        : this(master, computeType, () => new UNetModel(master!.Options), m => m is Conv2d or ConvTranspose2d, master?.Options.ChannelsLast ?? false)
    {
    }

    /// <summary>
    /// The working copy of an nnU-Net: every convolution and transposed convolution (2-D or 3-D) in
    /// <paramref name="computeType"/>; the instance norms' affine weights stay float32 (libtorch's
    /// CPU instance norm takes a bfloat16 input with float32 weights and returns bfloat16), copied
    /// rather than cast. A 3-D convolution whose input is shorter than its kernel computes in
    /// float32 (<c>NnUNetConv</c>: libtorch's CPU bfloat16 weight gradient is wrong there), three
    /// casts per such call, counted in <see cref="Casts"/>. The training step goes through
    /// <see cref="TrainingForward"/>.
    /// </summary>
    /// <exception cref="ArgumentException">As for the U-Net.</exception>
    public MixedPrecisionModel(NnUNet.NnUNetModel master, ScalarType computeType)
        : this(master, computeType, () => new NnUNet.NnUNetModel(master!.Options), m => m is Convolution, channelsLast: false)
    {
    }

    private MixedPrecisionModel(nn.Module master, ScalarType computeType, Func<nn.Module> copy, Func<nn.Module, bool> cast, bool channelsLast)
    {
        ArgumentNullException.ThrowIfNull(master);
        if (computeType is not (ScalarType.BFloat16 or ScalarType.Float16))
            throw new ArgumentException($"mixed precision computes in bfloat16 or float16, not {computeType}", nameof(computeType));
        var first = master.parameters().First();
        if (computeType == ScalarType.Float16 && first.device.type != DeviceType.CUDA)
            throw new ArgumentException($"float16 mixed precision needs CUDA; on {first.device.type} use bfloat16", nameof(computeType));
        if (master.parameters().Any(p => p.dtype != ScalarType.Float32))
            throw new ArgumentException("the master model's weights must be float32", nameof(master));
        _master = master;
        _channelsLast = channelsLast;
        ComputeType = computeType;
        // The copy's own initial weights are overwritten at once: drawing them must not move the
        // generator, or making a copy (an evaluation, a predictor) would change what a run draws next.
        using (var rng = get_rng_state())
        {
            _working = copy();
            set_rng_state(rng);
        }
        try
        {
            if (first.device.type != DeviceType.CPU) _working.to(first.device);
            foreach (var module in _working.modules())
                if (cast(module)) module.to(computeType);
            var masters = master.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);
            _parameters = _working.named_parameters().Select(p => (masters[p.name], p.parameter, p.parameter.dtype != ScalarType.Float32)).ToArray();
            var masterBuffers = master.named_buffers().ToDictionary(b => b.name, b => b.buffer);
            _buffers = _working.named_buffers().Select(b => (masterBuffers[b.name], b.buffer)).ToArray();
            _working.train(master.training);
            Refresh();
            _casts = 0; // making the copy is not a step's work
        }
        catch
        {
            _working.Dispose();
            throw;
        }
    }

    /// <summary>The float32 model: the weights the optimizer steps, checkpoints save and export reads.</summary>
    /// <exception cref="InvalidOperationException">The master is not a <see cref="UNetModel"/>.</exception>
    public UNetModel Master => _master as UNetModel ?? throw new InvalidOperationException($"this working copy is of a {_master.GetType().Name}");

    /// <summary>The working copy that runs forward and backward: convolution weights in <see cref="ComputeType"/>, batch norm in float32. Owned by this object.</summary>
    /// <exception cref="InvalidOperationException">The master is not a <see cref="UNetModel"/>.</exception>
    public UNetModel Working => _working as UNetModel ?? throw new InvalidOperationException($"this working copy is of a {_working.GetType().Name}");

    /// <summary>The working copy as a module, whichever network it is.</summary>
    public nn.Module WorkingModule => _working;

    /// <summary>bfloat16 or float16.</summary>
    public ScalarType ComputeType { get; }

    /// <summary>The number of parameter tensors held in <see cref="ComputeType"/>: each is cast once by <see cref="GradientsToMaster"/> and once by <see cref="Refresh"/>.</summary>
    public int CastParameterCount => _parameters.Count(p => p.Cast);

    /// <summary>
    /// The dtype conversions of tensors this object has made since it was built (the copy's own
    /// making not counted), the working copy's layers' included: an nnU-Net's 3-D convolution whose
    /// input is shorter than its kernel computes in float32, casting its input, weight and result
    /// (<c>NnUNetConv.ComputesInFloat32</c>).
    /// </summary>
    public long Casts => Interlocked.Read(ref _casts) + (_working is NnUNet.NnUNetModel n ? n.LayerCasts : 0);

    /// <summary>
    /// Logits of <see cref="Working"/> for <paramref name="images"/> (any floating type; cast once
    /// to <see cref="ComputeType"/>, straight into channels-last when the model is), in the
    /// compute type, or cast once to float32 when <paramref name="float32Logits"/> (for the loss).
    /// The result belongs to the caller's dispose scope.
    /// </summary>
    public Tensor Forward(Tensor images, bool float32Logits = false) => Forward(images, float32Logits, _channelsLast);

    /// <summary>
    /// An nnU-Net's training forward pass on the working copy: the input cast once, the stacked
    /// deep-supervision outputs cast once to float32 for the loss, and the main logits (output 0)
    /// cast once to float32 for the step's metrics. Both belong to the caller's dispose scope.
    /// </summary>
    /// <exception cref="InvalidOperationException">The copy is not of an nnU-Net.</exception>
    public (Tensor ForLoss, Tensor Logits) TrainingForward(Tensor images)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(images);
        var working = _working as NnUNet.NnUNetModel ?? throw new InvalidOperationException($"TrainingForward is the nnU-Net's; this copy is of a {_working.GetType().Name}");
        using var scope = NewDisposeScope();
        var outputs = working.ForwardWithDeepSupervision(Input(images, channelsLast: false));
        Interlocked.Add(ref _casts, 2);
        var forLoss = outputs.to(ScalarType.Float32);
        Tensor logits;
        using (no_grad()) logits = outputs.select(1, 0).to(ScalarType.Float32);
        return (forLoss.MoveToOuterDisposeScope(), logits.MoveToOuterDisposeScope());
    }

    /// <summary><see cref="Forward(Tensor, bool)"/>, the input made channels-last in the same conversion when <paramref name="channelsLast"/>.</summary>
    internal Tensor Forward(Tensor images, bool float32Logits, bool channelsLast)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(images);
        using var scope = NewDisposeScope();
        var logits = ((nn.Module<Tensor, Tensor>)_working).call(Input(images, channelsLast));
        if (float32Logits && logits.dtype != ScalarType.Float32)
        {
            Interlocked.Increment(ref _casts);
            logits = logits.to(ScalarType.Float32);
        }
        return logits.MoveToOuterDisposeScope();
    }

    /// <summary>The images in the compute type and the model's layout, in one conversion (or as they are when they already match).</summary>
    private Tensor Input(Tensor images, bool channelsLast)
    {
        bool layout = channelsLast && images.Dimensions == 4 && !ChannelsLast.Is(images);
        if (images.dtype == ComputeType && !layout) return images.alias();
        Interlocked.Increment(ref _casts);
        if (!layout) return images.to(ComputeType);
        long[] s = images.shape;
        using var nhwc = empty([s[0], s[2], s[3], s[1]], ComputeType, images.device);
        return nhwc.permute(0, 3, 1, 2).copy_(images);
    }

    /// <summary>
    /// Moves the gradients of the last backward pass to the master: each low-precision gradient is
    /// cast and added into its master's gradient (which holds whatever the master's own graph, such
    /// as an L2 term, gave it, or is made), each float32 one added as it is; the working gradients
    /// are then dropped. The running statistics of batch norm, which a training forward pass
    /// updated in the copy, are copied back to the master's buffers.
    /// </summary>
    public void GradientsToMaster()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        foreach (var (master, working, cast) in _parameters)
        {
            var g = working.grad;
            if (g is null) continue;
            if (cast) Interlocked.Increment(ref _casts);
            var mg = master.grad;
            if (mg is null) master.grad = cast ? g.to(ScalarType.Float32) : g.clone(); // the gradient keeps its own reference
            else mg.PlusInPlace(g);   // held alpha (Runtime/HeldScalars.cs)
            working.grad = null;
        }
        if (_working.training)
            foreach (var (master, working) in _buffers) master.copy_(working);
    }

    /// <summary>
    /// Copies the master's weights into the working copy: a cast per low-precision parameter, a
    /// copy for the float32 ones and the buffers. Call it after every change to the master (an
    /// optimizer step, a restored checkpoint).
    /// </summary>
    public void Refresh()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        using var noGrad = no_grad();
        foreach (var (master, working, cast) in _parameters)
        {
            if (cast) Interlocked.Increment(ref _casts);
            working.copy_(master);
        }
        foreach (var (master, working) in _buffers) working.copy_(master);
    }

    /// <summary>Frees the working copy (the master stays the caller's).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _working.Dispose();
    }
}
