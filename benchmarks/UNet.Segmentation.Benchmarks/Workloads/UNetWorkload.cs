using UNet.Segmentation.Model;
using UNet.Segmentation.Torch;
using UNet.Segmentation.Torch.Optim;
using UNet.Segmentation.Training;

namespace UNet.Segmentation.Benchmarks.Workloads;

/// <summary>
/// One U-Net step on a batch already in memory, the unit every speed figure is made of — the
/// same work as benchmarks/side-by-side/peer_step.py does in PyTorch:
/// a training step is zero grads, forward (under autocast for bfloat16), Dice + cross-entropy on
/// float32 logits, backward and Adam (lr 1e-4, ε 1e-7); an inference step is a forward pass in
/// inference mode and a softmax. Each step ends by reading a number back, so it is complete when
/// it returns (on CUDA that read-back is the synchronisation the reference's timing asks for).
/// </summary>
public sealed class UNetWorkload : IDisposable
{
    private readonly Adam? _adam;
    private readonly Tensor _images;
    private readonly Tensor? _classes;
    private readonly Precision _precision;
    private readonly Device _device;
    private readonly LossScaler? _scaler;

    /// <summary>Builds the model (seeded) on the device, its optimizer when training, and a random batch there.</summary>
    /// <exception cref="ArgumentException">Float16 on a device that is not CUDA.</exception>
    public UNetWorkload(bool training, int batchSize, Precision precision, bool channelsLast, int filters = 64, int inputSize = 572, Device? device = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        _device = device ?? Device.Cpu;
        if (precision == Precision.Float16 && _device.Type != DeviceType.Cuda)
            throw new ArgumentException($"float16 autocast is benchmarked on CUDA only, not on {_device}", nameof(precision));
        LibTorch.ManualSeed(0);
        _precision = precision;
        Model = new UNetModel(UNetOptions.Reference with { BaseFilters = filters, InputSize = inputSize, ChannelsLast = channelsLast });
        if (_device != Device.Cpu) Model.To(_device);
        using var scope = TensorScope.Begin();
        var images = Tensor.Randn([batchSize, 1, inputSize, inputSize]).To(_device);
        _images = (channelsLast ? images.Contiguous(MemoryFormat.ChannelsLast) : images).DetachFromScope();
        if (training)
        {
            Model.Train();
            int output = Model.OutputSize(inputSize);
            _classes = Tensor.RandInt(0, 2, [batchSize, output, output]).To(_device).DetachFromScope();
            _adam = new Adam(Model.Parameters(), learningRate: 1e-4, epsilon: 1e-7);
            _scaler = new LossScaler(enabled: precision == Precision.Float16);
        }
        else
        {
            Model.Eval();
        }
    }

    /// <summary>The model being timed.</summary>
    public UNetModel Model { get; }

    /// <summary>One training step; returns the loss.</summary>
    public double TrainStep()
    {
        if (_adam is null || _classes is null || _scaler is null) throw new InvalidOperationException("this workload was built for inference");
        using var scope = TensorScope.Begin();
        _adam.ZeroGrad();
        Tensor logits;
        using (_precision.Autocast(_device.Type)) logits = Model.Forward(_images);
        var loss = Losses.DiceCrossEntropy(logits, _classes);
        _scaler.Scale(loss).Backward(); // a disabled scaler (all but float16) just backpropagates and steps
        _scaler.Step(_adam);
        return loss.ToDouble();
    }

    /// <summary>One forward pass in inference mode; returns the sum of the class probabilities.</summary>
    public double InferStep()
    {
        using var inference = Autograd.InferenceMode();
        using var scope = TensorScope.Begin();
        Tensor logits;
        using (_precision.Autocast(_device.Type)) logits = Model.Forward(_images);
        return logits.To(ScalarType.Float32).Softmax(1).Sum().ToDouble();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _adam?.Dispose();
        _classes?.Dispose();
        _images.Dispose();
        Model.Dispose();
    }
}
