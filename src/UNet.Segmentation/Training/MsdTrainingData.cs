using UNet.Segmentation.Data;
using UNet.Segmentation.Data.Msd;
using UNet.Segmentation.Inference.NnUNet;
using UNet.Segmentation.Model.NnUNet;
using UNet.Segmentation.Scoring;
using static TorchSharp.torch;

namespace UNet.Segmentation.Training;

/// <summary>
/// Preprocessed MSD cases as a <see cref="Trainer"/> trains on them, for a 3-D nnU-Net (patches of
/// the volumes) or a 2-D one (patches of axial slices, nnU-Net's 2-D configuration): training
/// batches from <see cref="MsdTrainingBatches"/> (batch b of rank r of W is the task's batch b·W + r,
/// a function of the seed and that index alone, so a run resumes exactly), and an evaluation of
/// each validation case through <see cref="NnUNetSlidingWindow"/> with <see cref="Prediction"/>'s
/// options, as prediction runs it (slice by slice for a 2-D network), scored by
/// <see cref="NnUNetEvaluation"/> (per-class Dice and <see cref="Regions"/>, the means over the cases).
/// </summary>
/// <remarks>
/// 2-D: a patch is a 1×H×W box of a volume, so <see cref="MsdPatchSampler"/>'s foreground
/// oversampling picks a slice holding the drawn class's voxel (or a uniform slice and position),
/// and <see cref="MsdAugmentation"/> on a one-slice box is the 2-D augmentation (zoom, mirroring
/// along y and x, noise, blur and intensity in the plane: along z it has nothing to move); the
/// batch is then N×C×H×W with labels N×1×H×W.
/// </remarks>
public sealed class MsdTrainingData : ITrainingData
{
    private readonly IReadOnlyList<(Volume<float> Image, Volume<byte> Labels)> _cases;
    private readonly MsdPatchSampler _sampler;

    /// <summary>Training data of <paramref name="cases"/> (all the task's cases, in the order the folds index).</summary>
    /// <param name="cases">Preprocessed images C×D×H×W and labels 1×D×H×W.</param>
    /// <param name="patchSize">The training patch (z, y, x); for 2-D (<paramref name="spatialDims"/> 2) its depth is 1.</param>
    /// <param name="classes">Classes, background included.</param>
    /// <param name="augmentation">The training augmentations (default <see cref="MsdAugmentationOptions.Reference"/>).</param>
    /// <param name="foregroundProbability">The probability of a foreground-centred patch.</param>
    /// <param name="spatialDims">3: volume patches; 2: slice patches.</param>
    /// <exception cref="ArgumentException">No cases, cases of different channels, <paramref name="spatialDims"/> not 2 or 3, or a 2-D patch deeper than 1.</exception>
    public MsdTrainingData(IReadOnlyList<(Volume<float> Image, Volume<byte> Labels)> cases, Shape3D patchSize, int classes,
        MsdAugmentationOptions? augmentation = null, double foregroundProbability = 0.33, int spatialDims = 3)
    {
        ArgumentNullException.ThrowIfNull(cases);
        if (cases.Count == 0) throw new ArgumentException("no cases", nameof(cases));
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 2);
        if (spatialDims is not (2 or 3)) throw new ArgumentException($"the nnU-Net trains on 2-D slices or 3-D volumes, not {spatialDims}-D patches", nameof(spatialDims));
        if (spatialDims == 2 && patchSize.Depth != 1)
            throw new ArgumentException($"a 2-D patch is one slice deep (1×H×W), not {patchSize}", nameof(patchSize));
        _cases = cases;
        _sampler = new MsdPatchSampler(patchSize, foregroundProbability);
        Channels = cases[0].Image.Channels;
        if (cases.Any(c => c.Image.Channels != Channels)) throw new ArgumentException("the cases differ in channels", nameof(cases));
        Classes = classes;
        SpatialDims = spatialDims;
        Augmentation = augmentation ?? MsdAugmentationOptions.Reference;
    }

    /// <summary>
    /// Every case of a prepared task, loaded, with its plan's classes and patch size (3-D), or
    /// (<paramref name="spatialDims"/> 2) the 1×H×W slice patch of the plan's in-plane size.
    /// </summary>
    public static MsdTrainingData Load(MsdPreparedData data, MsdAugmentationOptions? augmentation = null, int spatialDims = 3)
    {
        ArgumentNullException.ThrowIfNull(data);
        var p = data.Plan.PatchSize;
        return new MsdTrainingData(data.Cases.Select(c => c.Load()).ToList(), spatialDims == 2 ? new Shape3D(1, p.Height, p.Width) : p, data.Plan.Classes, augmentation, spatialDims: spatialDims)
        {
            Ids = data.Cases.Select(c => c.Id).ToList(),
        };
    }

    /// <summary>The image channels.</summary>
    public int Channels { get; }
    /// <summary>The classes, background included.</summary>
    public int Classes { get; }
    /// <summary>2 (slice patches, a 2-D network) or 3 (volume patches).</summary>
    public int SpatialDims { get; }
    /// <summary>The number of cases (the folds' indices address them).</summary>
    public int Count => _cases.Count;
    /// <summary>The cases' identifiers (the cache's, with <see cref="Load"/>; else "case i").</summary>
    public IReadOnlyList<string> Ids { get => field ?? Enumerable.Range(0, Count).Select(i => $"case {i}").ToList(); init; }
    /// <summary>The training patch (z, y, x; depth 1 in 2-D).</summary>
    public Shape3D PatchSize => _sampler.PatchSize;
    /// <summary>The training augmentations.</summary>
    public MsdAugmentationOptions Augmentation { get; }
    /// <summary>How evaluations predict the validation cases (overlap 0.25, Gaussian blending, no mirroring by default).</summary>
    public NnUNetPredictionOptions Prediction { get; set; } = new();
    /// <summary>The regions evaluations also score (e.g. <see cref="DiceRegion.MsdBrainTumour"/>, <see cref="NnUNetEvaluation.RegionsFor"/>); none by default.</summary>
    public IReadOnlyList<DiceRegion> Regions { get; set; } = [];
    /// <summary>The cases: preprocessed images C×D×H×W and labels 1×D×H×W.</summary>
    public IReadOnlyList<(Volume<float> Image, Volume<byte> Labels)> Cases => _cases;

    /// <summary>Predicts <paramref name="items"/> with <paramref name="window"/> and scores them with <see cref="Regions"/> (<see cref="NnUNetEvaluation.Run"/>).</summary>
    public NnUNetEvaluation Evaluate(NnUNetSlidingWindow window, IReadOnlyList<int> items, CancellationToken cancellation = default) =>
        NnUNetEvaluation.Run(window, _cases, items, Classes, Regions, cancellation);

    /// <summary>The last evaluation of a fit (every case's scores), or null before one.</summary>
    public NnUNetEvaluation? LastEvaluation { get; private set; }

    void ITrainingData.CheckFits(ITrainableNetwork network)
    {
        var p = _sampler.PatchSize;
        string patch = SpatialDims == 3 ? $"N×{Channels}×{p.Depth}×{p.Height}×{p.Width} volumes" : $"N×{Channels}×{p.Height}×{p.Width} slices";
        if (network.SpatialDims != SpatialDims)
            throw new ArgumentException($"the MSD patches are {patch}; the {network.SpatialDims}-D network takes N×{network.InputChannels}×{(network.SpatialDims == 3 ? "D×H×W volumes" : "H×W slices")}", "data");
        if (Channels != network.InputChannels || Classes != network.Classes)
            throw new ArgumentException($"the MSD task has {Channels}-channel images and {Classes} classes; the model takes {network.InputChannels} channel(s) and predicts {network.Classes} classes", "data");
    }

    ITrainingBatchSource ITrainingData.Batches(IReadOnlyList<int> items, TrainerOptions options, int rank, int worldSize, long startBatch, CancellationToken cancellation)
    {
        var batches = new MsdTrainingBatches(TrainingCases(items), _sampler, options.Data.Augment ? Augmentation : MsdAugmentationOptions.None, options.Seed);
        return new Source(batches, options.BatchSize, rank, worldSize, startBatch, options.Device, SpatialDims == 2);
    }

    SegmentationMetrics ITrainingData.Evaluate(Trainer trainer, IReadOnlyList<int> items)
    {
        if (trainer.Network.Module is not NnUNetModel model)
            throw new InvalidOperationException($"MSD evaluations predict with an nnU-Net's sliding window, not a {trainer.Network.Module.GetType().Name}");
        bool wasTraining = model.training;
        try
        {
            using var window = new NnUNetSlidingWindow(model, Prediction);
            LastEvaluation = Evaluate(window, items);
            return LastEvaluation.Metrics;
        }
        finally
        {
            model.train(wasTraining);
        }
    }

    private List<(Volume<float> Image, Volume<byte> Labels)> TrainingCases(IReadOnlyList<int> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        if (items.Count == 0) throw new ArgumentException("no training cases in the split", nameof(items));
        return items.Select(i => i >= 0 && i < _cases.Count ? _cases[i] : throw new ArgumentOutOfRangeException(nameof(items), $"case {i} is not among the {_cases.Count} cases")).ToList();
    }

    private sealed class Source(MsdTrainingBatches batches, int batchSize, int rank, int worldSize, long startBatch, Device device, bool slices) : ITrainingBatchSource
    {
        public long NextBatch { get; private set; } = startBatch;

        public TrainingBatch Take(CancellationToken cancellation)
        {
            cancellation.ThrowIfCancellationRequested();
            var (images, labels) = batches.Batch(NextBatch * worldSize + rank, batchSize, device);
            NextBatch++;
            if (slices)
            {
                // N×C×1×H×W → N×C×H×W: the one-slice boxes are the 2-D patches.
                var (volumes, volumeLabels) = (images, labels);
                (images, labels) = (volumes.squeeze(2), volumeLabels.squeeze(2));
                volumes.Dispose();
                volumeLabels.Dispose();
            }
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
