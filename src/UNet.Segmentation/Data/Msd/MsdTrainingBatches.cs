using TorchSharp;
using static TorchSharp.torch;

namespace UNet.Segmentation.Data.Msd;

/// <summary>
/// Training batches of 3-D patches from preprocessed cases, as the reference's training pipeline
/// makes them: the cases in a new shuffled order each epoch (one patch per case visit), each patch
/// drawn by <see cref="MsdPatchSampler"/> with foreground oversampling and augmented by
/// <see cref="MsdAugmentation"/>. Batch b is a function of (seed, b) alone, so a run resumes exactly.
/// </summary>
public sealed class MsdTrainingBatches
{
    private readonly IReadOnlyList<(Volume<float> Image, Volume<byte> Labels, ForegroundIndex Foreground)> _cases;
    private readonly MsdPatchSampler _sampler;
    private readonly MsdAugmentationOptions _augmentation;
    private readonly int _seed;

    /// <summary>Batches from <paramref name="cases"/> (the fold's training cases, loaded).</summary>
    /// <param name="cases">Preprocessed images (C×D×H×W) and labels (1×D×H×W), each pair of one shape.</param>
    /// <param name="sampler">The patch sampler.</param>
    /// <param name="augmentation">The augmentations (<see cref="MsdAugmentationOptions.None"/> for none).</param>
    /// <param name="seed">The seed.</param>
    public MsdTrainingBatches(IReadOnlyList<(Volume<float> Image, Volume<byte> Labels)> cases, MsdPatchSampler sampler, MsdAugmentationOptions augmentation, int seed)
    {
        ArgumentNullException.ThrowIfNull(cases);
        ArgumentNullException.ThrowIfNull(sampler);
        ArgumentNullException.ThrowIfNull(augmentation);
        augmentation.Validate();
        if (cases.Count == 0) throw new ArgumentException("no training cases", nameof(cases));
        int channels = cases[0].Image.Channels;
        for (int i = 0; i < cases.Count; i++)
        {
            if (cases[i].Image.Shape != cases[i].Labels.Shape) throw new ArgumentException($"case {i}: image {cases[i].Image.Shape} and labels {cases[i].Labels.Shape} differ in shape", nameof(cases));
            if (cases[i].Image.Channels != channels) throw new ArgumentException($"case {i} has {cases[i].Image.Channels} channels, case 0 {channels}", nameof(cases));
        }
        _cases = cases.Select(c => (c.Image, c.Labels, ForegroundIndex.Of(c.Labels))).ToList();
        _sampler = sampler;
        _augmentation = augmentation;
        _seed = seed;
    }

    /// <summary>
    /// Batch <paramref name="index"/> of <paramref name="batchSize"/> patches: images
    /// N×C×D×H×W float32 and labels N×1×D×H×W int64, on <paramref name="device"/>.
    /// </summary>
    public (Tensor Images, Tensor Labels) Batch(long index, int batchSize, Device? device = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        device ??= CPU;
        using var scope = NewDisposeScope();
        var random = new Random(Seeds.Mix(_seed, index, 2));
        var p = _sampler.PatchSize;
        var images = new List<Tensor>();
        var labels = new List<Tensor>();
        for (int k = 0; k < batchSize; k++)
        {
            long visit = index * batchSize + k;
            var (image, label, foreground) = _cases[CaseAt(visit)];
            var (x, y, _) = _sampler.Sample(image, label, foreground, random);
            var xt = tensor(x.Data, [x.Channels, p.Depth, p.Height, p.Width], device: device);
            var yt = tensor(y.Data, [1, p.Depth, p.Height, p.Width], device: device).to_type(ScalarType.Int64);
            var (xa, ya) = MsdAugmentation.Apply(xt, yt, _augmentation, random);
            images.Add(xa);
            labels.Add(ya);
        }
        return (stack(images).MoveToOuterDisposeScope(), stack(labels).MoveToOuterDisposeScope());
    }

    /// <summary>The case of the <paramref name="visit"/>-th patch: epoch visit / n visits the cases in a shuffled order of its own.</summary>
    private int CaseAt(long visit)
    {
        int n = _cases.Count;
        long epoch = visit / n;
        var order = Enumerable.Range(0, n).ToArray();
        new Random(Seeds.Mix(_seed, epoch, 1)).Shuffle(order);
        return order[(int)(visit % n)];
    }
}
