using UNet.Segmentation.Data;
using static TorchSharp.torch;

namespace UNet.Segmentation.Training;

/// <summary>
/// Where the training loop's batches and evaluations come from: 2-D slices
/// (<see cref="SegmentationTrainingData"/>) or 3-D MSD patches (<see cref="MsdTrainingData"/>).
/// </summary>
internal interface ITrainingData
{
    /// <summary>Throws an <see cref="ArgumentException"/> (one line naming both shapes) when the data does not fit the network.</summary>
    void CheckFits(ITrainableNetwork network);

    /// <summary>Rank <paramref name="rank"/>'s training batches of <paramref name="items"/> from batch <paramref name="startBatch"/>: a function of the seed and the batch index, so a run resumes exactly.</summary>
    ITrainingBatchSource Batches(IReadOnlyList<int> items, TrainerOptions options, int rank, int worldSize, long startBatch, CancellationToken cancellation);

    /// <summary>The metrics of the trainer's network on <paramref name="items"/> (no augmentation, evaluation mode).</summary>
    SegmentationMetrics Evaluate(Trainer trainer, IReadOnlyList<int> items);
}

/// <summary>A stream of training batches; <see cref="NextBatch"/> is the index of the batch <see cref="Take"/> gives next.</summary>
internal interface ITrainingBatchSource : IDisposable
{
    long NextBatch { get; }

    /// <summary>The next batch (the caller disposes it); cancelling throws <see cref="OperationCanceledException"/>.</summary>
    TrainingBatch Take(CancellationToken cancellation);
}

/// <summary>Images and the labels the network's loss takes; disposing frees both.</summary>
internal sealed class TrainingBatch(Tensor images, Tensor labels, IDisposable owner) : IDisposable
{
    public Tensor Images { get; } = images;
    public Tensor Labels { get; } = labels;
    public void Dispose() => owner.Dispose();
}

/// <summary>2-D slices of a <see cref="SegmentationData"/> through its <see cref="BatchLoader"/> and the trainer's <see cref="Evaluator"/>.</summary>
internal sealed class SegmentationTrainingData(SegmentationData data) : ITrainingData
{
    public SegmentationData Data { get; } = data ?? throw new ArgumentNullException(nameof(data));

    public void CheckFits(ITrainableNetwork network)
    {
        if (network.SpatialDims != 2)
            throw new ArgumentException($"{Data.Source} holds 2-D slices (N×{Data.ImageChannels}×H×W); the {network.SpatialDims}-D network takes N×{network.InputChannels}×D×H×W volumes", nameof(data));
        if (Data.ImageChannels != network.InputChannels || Data.Classes != network.Classes)
            throw new ArgumentException(
                $"{Data.Source} has {Data.ImageChannels}-channel images and {Data.Classes} classes; the model takes {network.InputChannels} channel(s) and predicts {network.Classes} classes", nameof(data));
    }

    public ITrainingBatchSource Batches(IReadOnlyList<int> items, TrainerOptions options, int rank, int worldSize, long startBatch, CancellationToken cancellation) =>
        new Loader(Data.TrainingBatches(items, options.BatchSize, options.Data, options.Seed, rank, worldSize, startBatch, cancellation));

    public SegmentationMetrics Evaluate(Trainer trainer, IReadOnlyList<int> items) => trainer.Evaluator.Evaluate(Data, items);

    private sealed class Loader(BatchLoader loader) : ITrainingBatchSource
    {
        public long NextBatch => loader.NextBatch;

        public TrainingBatch Take(CancellationToken cancellation)
        {
            var batch = loader.Take(cancellation);
            return new TrainingBatch(batch.Images, batch.Labels, batch);
        }

        public void Dispose() => loader.Dispose();
    }
}
