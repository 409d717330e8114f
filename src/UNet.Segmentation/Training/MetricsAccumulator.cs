using static TorchSharp.torch;

namespace UNet.Segmentation.Training;

/// <summary>
/// Accumulates <see cref="SegmentationMetrics"/> over the batches of an evaluation set, so the
/// result does not depend on how the set was cut into batches:
/// <list type="bullet">
/// <item>hard Dice, IoU and pixel accuracy come from per-class intersection, prediction and label
/// pixel counts summed over every batch (global counts, then one ratio per class);</item>
/// <item>cross-entropy is the mean over every pixel seen (each batch weighted by its pixels);</item>
/// <item>the soft Dice loss, and so <see cref="SegmentationMetrics.ReferenceDice"/>, is the mean
/// over every sample of its per-sample loss (each batch weighted by its samples), which is the
/// reference's average over batches whenever the batches have equal sizes.</item>
/// </list>
/// Not thread-safe; one accumulator per evaluation.
/// </summary>
public sealed class MetricsAccumulator
{
    private MetricSums? _sums;

    /// <summary>How many batches have been added since creation or <see cref="Reset"/>.</summary>
    public int Batches { get; private set; }

    /// <summary>How many samples have been added.</summary>
    public long Samples => _sums?.Samples ?? 0;

    /// <summary>How many pixels have been added.</summary>
    public long Pixels => _sums?.Pixels ?? 0;

    /// <summary>Number of classes (0 before the first batch).</summary>
    public int Classes => _sums?.Classes ?? 0;

    /// <summary>
    /// Measures one batch (no autograd; logits N×C×H×W, labels one-hot N×C×H×W or class indices
    /// N×H×W) and adds it; returns that batch's own metrics. Every batch must have the same
    /// number of classes.
    /// </summary>
    public SegmentationMetrics Add(Tensor logits, Tensor labels)
    {
        var batch = Metrics.Measure(logits, labels);
        if (_sums is { } sums && sums.Classes != batch.Classes)
            throw new ArgumentException($"the logits have {batch.Classes} classes, earlier batches had {sums.Classes}", nameof(logits));
        _sums = _sums is null ? batch : _sums.Plus(batch);
        Batches++;
        return batch.ToMetrics();
    }

    /// <summary>The metrics of everything added so far.</summary>
    /// <exception cref="InvalidOperationException">No batch has been added.</exception>
    public SegmentationMetrics Result() =>
        (_sums ?? throw new InvalidOperationException("no batch has been added to the metrics accumulator")).ToMetrics();

    /// <summary>Forgets every batch.</summary>
    public void Reset()
    {
        _sums = null;
        Batches = 0;
    }
}
