using UNet.Segmentation.Data;
using UNet.Segmentation.Data.Msd;
using UNet.Segmentation.Model.NnUNet;
using static TorchSharp.torch;

namespace UNet.Segmentation.Training;

/// <summary>
/// Preprocessed MSD cases as a <see cref="Trainer"/> trains on them: training batches of 3-D
/// patches from <see cref="MsdTrainingBatches"/> (batch b of rank r of W is the task's batch
/// b·W + r, a function of the seed and that index alone, so a run resumes exactly), and an
/// evaluation of each validation case: whole (zero-padded to the total stride, one forward pass)
/// when it has at most <see cref="WholeVolumeLimit"/> voxels, else on <see cref="EvaluationPatches"/>
/// seeded patches (the sampler's foreground oversampling, no augmentation) until the
/// sliding-window inference lands. <see cref="SegmentationMetrics.HardDicePerClass"/> holds the Dice
/// of each class over all the evaluated voxels together, and <see cref="SegmentationMetrics.SoftDiceLoss"/>
/// 1 − the mean hard Dice of the foreground classes, so <see cref="SegmentationMetrics.ReferenceDice"/>
/// is that mean; <see cref="SegmentationMetrics.CrossEntropy"/> is the mean over the patches.
/// </summary>
public sealed class MsdTrainingData : ITrainingData
{
    private readonly IReadOnlyList<(Volume<float> Image, Volume<byte> Labels)> _cases;
    private readonly MsdPatchSampler _sampler;

    /// <summary>Training data of <paramref name="cases"/> (all the task's cases, in the order the folds index).</summary>
    /// <exception cref="ArgumentException">No cases, or cases of different channels.</exception>
    public MsdTrainingData(IReadOnlyList<(Volume<float> Image, Volume<byte> Labels)> cases, Shape3D patchSize, int classes,
        MsdAugmentationOptions? augmentation = null, double foregroundProbability = 0.33, int evaluationPatches = 4)
    {
        ArgumentNullException.ThrowIfNull(cases);
        if (cases.Count == 0) throw new ArgumentException("no cases", nameof(cases));
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(evaluationPatches, 1);
        _cases = cases;
        _sampler = new MsdPatchSampler(patchSize, foregroundProbability);
        Channels = cases[0].Image.Channels;
        if (cases.Any(c => c.Image.Channels != Channels)) throw new ArgumentException("the cases differ in channels", nameof(cases));
        Classes = classes;
        Augmentation = augmentation ?? MsdAugmentationOptions.Reference;
        EvaluationPatches = evaluationPatches;
    }

    /// <summary>Every case of a prepared task, loaded, with its plan's patch size and classes.</summary>
    public static MsdTrainingData Load(MsdPreparedData data, MsdAugmentationOptions? augmentation = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        return new MsdTrainingData(data.Cases.Select(c => c.Load()).ToList(), data.Plan.PatchSize, data.Plan.Classes, augmentation);
    }

    /// <summary>The image channels.</summary>
    public int Channels { get; }
    /// <summary>The classes, background included.</summary>
    public int Classes { get; }
    /// <summary>The number of cases (the folds' indices address them).</summary>
    public int Count => _cases.Count;
    /// <summary>The training augmentations.</summary>
    public MsdAugmentationOptions Augmentation { get; }
    /// <summary>Patches per validation case in an evaluation (of cases larger than <see cref="WholeVolumeLimit"/>).</summary>
    public int EvaluationPatches { get; }
    /// <summary>Validation cases of at most this many voxels are evaluated whole (an nnU-Net's forward pass over the zero-padded volume); larger ones by patches.</summary>
    public long WholeVolumeLimit { get; set; } = 128L * 128 * 128;

    void ITrainingData.CheckFits(ITrainableNetwork network)
    {
        var p = _sampler.PatchSize;
        if (network.SpatialDims != 3)
            throw new ArgumentException($"the MSD patches are N×{Channels}×{p.Depth}×{p.Height}×{p.Width} volumes; the {network.SpatialDims}-D network takes N×{network.InputChannels}×H×W slices", "data");
        if (Channels != network.InputChannels || Classes != network.Classes)
            throw new ArgumentException($"the MSD task has {Channels}-channel images and {Classes} classes; the model takes {network.InputChannels} channel(s) and predicts {network.Classes} classes", "data");
    }

    ITrainingBatchSource ITrainingData.Batches(IReadOnlyList<int> items, TrainerOptions options, int rank, int worldSize, long startBatch, CancellationToken cancellation)
    {
        var batches = new MsdTrainingBatches(Cases(items), _sampler, options.Data.Augment ? Augmentation : MsdAugmentationOptions.None, options.Seed);
        return new Source(batches, options.BatchSize, rank, worldSize, startBatch, options.Device);
    }

    SegmentationMetrics ITrainingData.Evaluate(Trainer trainer, IReadOnlyList<int> items)
    {
        var network = trainer.Network;
        var module = network.Module;
        bool wasTraining = module.training;
        module.eval();
        var hits = new long[Classes, 3]; // true positives, predicted, actual
        long voxels = 0, correct = 0;
        double crossEntropy = 0;
        long samples = 0;
        try
        {
            using var noGrad = no_grad();
            var p = _sampler.PatchSize;
            int[]? stride = network.Module is NnUNetModel nnunet ? nnunet.Options.TotalStride.ToArray() : null;
            foreach (int item in items)
            {
                var (image, labels) = _cases[item];
                var shape = image.Shape;
                if (stride is not null && shape.Voxels <= WholeVolumeLimit)
                {
                    // The whole volume at once, zero-padded up to multiples of the network's total stride.
                    using var scope = NewDisposeScope();
                    var input = tensor(image.Data, [1, image.Channels, shape.Depth, shape.Height, shape.Width], device: trainer.Options.Device);
                    long[] pad = [0, Up(shape.Width, stride[2]), 0, Up(shape.Height, stride[1]), 0, Up(shape.Depth, stride[0])];
                    var logits = network.Forward(TorchSharp.torch.nn.functional.pad(input, pad))
                        .narrow(2, 0, shape.Depth).narrow(3, 0, shape.Height).narrow(4, 0, shape.Width);
                    Score(logits, labels.Data, shape);
                    continue;
                }
                var foreground = ForegroundIndex.Of(labels);
                var random = new Random(Seeds.Mix(trainer.Options.Seed, item, 3));
                for (int k = 0; k < EvaluationPatches; k++)
                {
                    using var scope = NewDisposeScope();
                    var (x, y, _) = _sampler.Sample(image, labels, foreground, random);
                    var input = tensor(x.Data, [1, x.Channels, p.Depth, p.Height, p.Width], device: trainer.Options.Device);
                    Score(network.Forward(input), y.Data, p);
                }
            }

            void Score(Tensor output, byte[] labelData, Shape3D shape)
            {
                var logits = output.to(ScalarType.Float32).cpu();
                var predicted = logits.argmax(1).flatten();
                var truth = tensor(labelData, [shape.Voxels]).to_type(ScalarType.Int64);
                crossEntropy += TorchSharp.torch.nn.functional.cross_entropy(logits, truth.view(1, shape.Depth, shape.Height, shape.Width)).item<float>();
                samples++;
                for (int c = 0; c < Classes; c++)
                {
                    var pc = predicted.eq(c);
                    var tc = truth.eq(c);
                    hits[c, 0] += pc.logical_and(tc).sum().item<long>();
                    hits[c, 1] += pc.sum().item<long>();
                    hits[c, 2] += tc.sum().item<long>();
                }
                correct += predicted.eq(truth).sum().item<long>();
                voxels += truth.numel();
            }
        }
        finally
        {
            module.train(wasTraining);
        }
        var dice = Enumerable.Range(0, Classes).Select(c => hits[c, 1] + hits[c, 2] == 0 ? 1.0 : 2.0 * hits[c, 0] / (hits[c, 1] + hits[c, 2])).ToArray();
        var iou = Enumerable.Range(0, Classes).Select(c => hits[c, 1] + hits[c, 2] - hits[c, 0] == 0 ? 1.0 : (double)hits[c, 0] / (hits[c, 1] + hits[c, 2] - hits[c, 0])).ToArray();
        double foregroundDice = dice.Skip(1).Average();
        return new SegmentationMetrics(dice, dice.Average(), iou, iou.Average(), voxels == 0 ? 0 : (double)correct / voxels,
            samples == 0 ? 0 : crossEntropy / samples, 1 - foregroundDice, samples, voxels);
    }

    private static long Up(int size, int multiple) => (multiple - size % multiple) % multiple;

    private List<(Volume<float> Image, Volume<byte> Labels)> Cases(IReadOnlyList<int> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        if (items.Count == 0) throw new ArgumentException("no training cases in the split", nameof(items));
        return items.Select(i => i >= 0 && i < _cases.Count ? _cases[i] : throw new ArgumentOutOfRangeException(nameof(items), $"case {i} is not among the {_cases.Count} cases")).ToList();
    }

    private sealed class Source(MsdTrainingBatches batches, int batchSize, int rank, int worldSize, long startBatch, Device device) : ITrainingBatchSource
    {
        public long NextBatch { get; private set; } = startBatch;

        public TrainingBatch Take(CancellationToken cancellation)
        {
            cancellation.ThrowIfCancellationRequested();
            var (images, labels) = batches.Batch(NextBatch * worldSize + rank, batchSize, device);
            NextBatch++;
            return new TrainingBatch(images, labels, new Both(images, labels));
        }

        public void Dispose() { }
    }

    private sealed class Both(Tensor a, Tensor b) : IDisposable
    {
        public void Dispose()
        {
            a.Dispose();
            b.Dispose();
        }
    }
}
