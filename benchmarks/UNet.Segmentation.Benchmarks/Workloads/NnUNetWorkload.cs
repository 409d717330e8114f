using TorchSharp;
using UNet.Segmentation.Model.NnUNet;
using UNet.Segmentation.Model.Precision;
using UNet.Segmentation.Runtime;
using UNet.Segmentation.Training;
using static TorchSharp.torch;
using Precision = UNet.Segmentation.Training.Precision;

namespace UNet.Segmentation.Benchmarks.Workloads;

/// <summary>
/// One nnU-Net step on a cubic patch already in memory — the 3-D side of the side-by-side, the
/// same work as benchmarks/side-by-side/peer_nnunet_step.py does in PyTorch. The network is the
/// plan the library derives for a <c>size</c>³ patch at 1 mm with 4 input channels and 4 classes
/// (<see cref="NnUNetPlan.For"/>; at 128³ with 32 filters the BraTS configuration,
/// <see cref="NnUNetOptions.BraTS3D"/>). A training step is zero grads, the forward pass with deep
/// supervision (<see cref="NnUNetModel.ForwardWithDeepSupervision"/>), <see cref="NnUNetLoss.DeepSupervision"/>
/// on float32 outputs, backward and Adam (lr 1e-4, ε 1e-7). In bfloat16 it runs as the Trainer
/// runs it, on <see cref="MixedPrecisionModel"/>'s nnU-Net working copy
/// (<see cref="MixedPrecisionModel.TrainingForward"/>, the gradients to the float32 master, Adam
/// on the master, the copy refreshed). An inference step is a forward pass without the heads in inference mode (in
/// bfloat16 on a copy whose convolutions are bfloat16 and instance norms float32, the conversion
/// NnUNetSlidingWindow makes) and a float32 softmax. Each step ends by reading a number back.
/// </summary>
public sealed class NnUNetWorkload : IDisposable
{
    /// <summary>The MRI modalities of BraTS.</summary>
    public const int InputChannels = 4;
    /// <summary>Background, edema, non-enhancing and enhancing tumour.</summary>
    public const int Classes = 4;

    private readonly optim.Optimizer? _adam;
    private readonly Tensor _images;
    private readonly Tensor? _labels;
    private readonly MixedPrecisionModel? _mixed;

    /// <summary>Builds the model (seeded), its optimizer when training, and a random batch of <paramref name="size"/>³ patches.</summary>
    /// <exception cref="ArgumentException">Float16 on a device that is not CUDA, or a size the plan cannot divide (the message says which).</exception>
    public NnUNetWorkload(bool training, int batchSize, Precision precision, int baseFilters = 32, int size = 128, Device? device = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        var where = device ?? CPU;
        if (precision == Precision.Float16 && where.type != DeviceType.CUDA)
            throw new ArgumentException($"float16 mixed precision is benchmarked on CUDA only, not on {where}", nameof(precision));
        TorchRuntime.EnsureLoaded();
        FreedMemoryReuse.Enable(); // as the Trainer and the predictors do by default
        manual_seed(0);
        Options = PlanFor(size, baseFilters);
        Model = new NnUNetModel(Options);
        try
        {
            if (where.type != DeviceType.CPU) Model.to(where);
            using (var scope = NewDisposeScope())
            {
                _images = randn([batchSize, InputChannels, size, size, size]).to(where).DetachFromDisposeScope();
                if (training) _labels = randint(0, Classes, [batchSize, 1, size, size, size]).to(where).DetachFromDisposeScope();
            }
            Model.train(training);
            if (training) _adam = optim.Adam(Model.parameters(), lr: 1e-4, eps: 1e-7);
            if (precision.ComputeType() is { } type) _mixed = new MixedPrecisionModel(Model, type);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The plan for a <paramref name="size"/>³ patch at 1 mm, 4 channels in, 4 classes, with <paramref name="baseFilters"/> at level 0.</summary>
    public static NnUNetOptions PlanFor(int size, int baseFilters) =>
        NnUNetPlan.For([size, size, size], [1.0, 1.0, 1.0], InputChannels, Classes) with { BaseFilters = baseFilters };

    /// <summary>The options of the model being timed.</summary>
    public NnUNetOptions Options { get; }

    /// <summary>The float32 model being timed (the master in bfloat16).</summary>
    public NnUNetModel Model { get; }

    /// <summary>One training step; returns the loss.</summary>
    public double TrainStep()
    {
        if (_adam is null || _labels is null) throw new InvalidOperationException("this workload was built for inference");
        using var scope = NewDisposeScope();
        _adam.zero_grad();
        var outputs = _mixed is null ? Model.ForwardWithDeepSupervision(_images) : _mixed.TrainingForward(_images).ForLoss;
        var loss = NnUNetLoss.DeepSupervision(outputs, _labels);
        loss.backward();
        _mixed?.GradientsToMaster();
        _adam.step();
        _mixed?.Refresh();
        return loss.item<float>();
    }

    /// <summary>One forward pass (no heads) in inference mode; returns the sum of the class probabilities.</summary>
    public double InferStep()
    {
        using var inference = inference_mode();
        using var scope = NewDisposeScope();
        var logits = _mixed is null ? Model.forward(_images) : _mixed.Forward(_images);
        return logits.softmax(1, ScalarType.Float32).sum().item<float>();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _mixed?.Dispose();
        _adam?.Dispose();
        _labels?.Dispose();
        _images?.Dispose();
        Model?.Dispose();
    }
}
