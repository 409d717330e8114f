using System.Diagnostics;
using TorchSharp;
using UNet.Segmentation.Model;
using UNet.Segmentation.Model.Precision;
using UNet.Segmentation.Runtime;
using UNet.Segmentation.Training;
using static TorchSharp.torch;
using Precision = UNet.Segmentation.Training.Precision;

namespace UNet.Segmentation.Benchmarks.Workloads;

/// <summary>
/// One U-Net step on a batch already in memory, the unit every speed figure is made of — the
/// same work as benchmarks/side-by-side/peer_step.py does in PyTorch:
/// a training step is zero grads, forward (for bfloat16 or float16 on the library's
/// <see cref="MixedPrecisionModel"/> working copy, as the trainer runs it: input cast once,
/// float32 logits), Dice + cross-entropy on float32 logits, backward, the gradients to the
/// float32 master weights, Adam (lr 1e-4, ε 1e-7) on those and the copy refreshed; an inference
/// step is a forward pass in inference mode (on the working copy, made once) and a softmax. Each step ends by reading a number
/// back, so its work is done when it returns (on CUDA that read-back waits for the device; the
/// timing loops synchronise explicitly as well).
/// </summary>
public sealed class UNetWorkload : IDisposable
{
    private readonly optim.Optimizer? _adam;
    private readonly Tensor _images;
    private readonly Tensor? _classes;
    private readonly Precision _precision;
    private readonly Device _device;
    private readonly LossScaler? _scaler;
    private readonly MixedPrecisionModel? _mixed;

    /// <summary>Builds the model (seeded) on the device, its optimizer when training, and a random batch there.</summary>
    /// <exception cref="ArgumentException">Float16 on a device that is not CUDA.</exception>
    public UNetWorkload(bool training, int batchSize, Precision precision, bool channelsLast, int filters = 64, int inputSize = 572, Device? device = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        _device = device ?? CPU;
        if (precision == Precision.Float16 && _device.type != DeviceType.CUDA)
            throw new ArgumentException($"float16 mixed precision is benchmarked on CUDA only, not on {_device}", nameof(precision));
        TorchRuntime.EnsureLoaded();
        // As Trainer and Predictor do by default (UNET_KEEP_FREED_MEMORY=0 measures without it).
        FreedMemoryReuse.Enable();
        manual_seed(0);
        _precision = precision;
        Model = new UNetModel(UNetOptions.Reference with { BaseFilters = filters, InputSize = inputSize, ChannelsLast = channelsLast });
        try
        {
            if (_device.type != DeviceType.CPU) Model.to(_device);
            using (var scope = NewDisposeScope())
            {
                // Drawn on the CPU and moved, so every device sees the same numbers.
                var images = randn([batchSize, 1, inputSize, inputSize]).to(_device);
                _images = (channelsLast ? ChannelsLast.Of(images) : images).DetachFromDisposeScope();
                if (training)
                {
                    int output = Model.OutputSize(inputSize);
                    _classes = randint(0, 2, [batchSize, output, output]).to(_device).DetachFromDisposeScope();
                }
            }
            if (training)
            {
                Model.train();
                _adam = optim.Adam(Model.parameters(), lr: 1e-4, eps: 1e-7);
                _scaler = new LossScaler(enabled: precision == Precision.Float16);
            }
            else
            {
                Model.eval();
            }
            _mixed = precision.WorkingCopy(Model);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The model being timed.</summary>
    public UNetModel Model { get; }

    /// <summary>The device the model and batch live on.</summary>
    public Device Device => _device;

    /// <summary>One training step; returns the loss.</summary>
    public double TrainStep() => TrainStep(null);

    /// <summary>
    /// One training step; with <paramref name="phases"/> (3 elements) it adds the seconds of its
    /// phases: [0] zero grads, forward and loss, [1] backward, [2] the working copy's gradient
    /// casts, the optimizer and the copy's refresh (CPU ops are synchronous; on CUDA the device is
    /// synchronised around each phase).
    /// </summary>
    public double TrainStep(double[]? phases)
    {
        if (_adam is null || _classes is null || _scaler is null) throw new InvalidOperationException("this workload was built for inference");
        using var scope = NewDisposeScope();
        long t0 = Mark();
        _adam.zero_grad();
        var logits = _mixed is null ? Model.call(_images) : _mixed.Forward(_images, float32Logits: true);
        var loss = Losses.DiceCrossEntropy(logits, _classes);
        long t1 = Mark();
        _scaler.Scale(loss).backward(); // a disabled scaler (all but float16) just backpropagates
        long t2 = Mark();
        _mixed?.GradientsToMaster();
        bool stepped = _scaler.Step(_adam);
        if (stepped) _mixed?.Refresh();
        long t3 = Mark();
        if (phases is not null)
        {
            phases[0] += Stopwatch.GetElapsedTime(t0, t1).TotalSeconds;
            phases[1] += Stopwatch.GetElapsedTime(t1, t2).TotalSeconds;
            phases[2] += Stopwatch.GetElapsedTime(t2, t3).TotalSeconds;
        }
        return loss.item<float>();
    }

    private long Mark()
    {
        Devices.Synchronize(_images!.device);
        return Stopwatch.GetTimestamp();
    }

    /// <summary>One forward pass in inference mode; returns the sum of the class probabilities.</summary>
    public double InferStep()
    {
        using var inference = inference_mode();
        using var scope = NewDisposeScope();
        var logits = _mixed is null ? Model.call(_images) : _mixed.Forward(_images);
        return logits.softmax(1, ScalarType.Float32).sum().item<float>();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _mixed?.Dispose();
        _adam?.Dispose();
        _classes?.Dispose();
        _images?.Dispose();
        Model?.Dispose();
    }
}
