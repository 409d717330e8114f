using System.Text.Json.Serialization;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;
using UNet.Segmentation.Runtime;

namespace UNet.Segmentation.Training;

/// <summary>
/// Evaluation metrics of one batch or of a whole evaluation set (<see cref="MetricsAccumulator"/>).
/// Two Dice scores, on purpose, because they answer different questions:
/// <list type="bullet">
/// <item><see cref="HardDicePerClass"/> / <see cref="HardMeanDice"/>: hard Dice of the argmax
/// prediction, 2·|P∩T| / (|P| + |T|) per class, from pixel counts summed over every pixel seen
/// (the whole evaluation set for an accumulator, not an average of per-batch or per-image scores).</item>
/// <item><see cref="ReferenceDice"/> = 1 − <see cref="SoftDiceLoss"/>: the reference's
/// <c>DICE</c> (NVIDIA's published 0.89), the soft V-Net Dice of the softmax probabilities per
/// sample and class, averaged over classes and samples (the reference averages per-batch values;
/// with equal batch sizes that is the same number).</item>
/// </list>
/// </summary>
/// <param name="HardDicePerClass">Hard Dice per class, from global counts; 1 for a class absent from both prediction and labels.</param>
/// <param name="HardMeanDice">Mean of <see cref="HardDicePerClass"/> over classes.</param>
/// <param name="IoUPerClass">Intersection over union |P∩T| / |P∪T| per class, from global counts; 1 for a class absent from both.</param>
/// <param name="MeanIoU">Mean of <see cref="IoUPerClass"/> over classes.</param>
/// <param name="PixelAccuracy">Fraction of pixels whose argmax class equals the label's.</param>
/// <param name="CrossEntropy">Softmax cross-entropy, the mean over every pixel seen (pixel-weighted across batches).</param>
/// <param name="SoftDiceLoss">The reference's soft Dice loss, the mean over samples of each sample's mean over classes of (1 − dice).</param>
/// <param name="Samples">Number of samples (images) measured.</param>
/// <param name="Pixels">Number of pixels measured (samples × H × W).</param>
public sealed record SegmentationMetrics(
    IReadOnlyList<double> HardDicePerClass,
    double HardMeanDice,
    IReadOnlyList<double> IoUPerClass,
    double MeanIoU,
    double PixelAccuracy,
    double CrossEntropy,
    double SoftDiceLoss,
    long Samples,
    long Pixels)
{
    /// <summary>The reference's evaluation <c>DICE</c>: 1 − <see cref="SoftDiceLoss"/> (soft, both classes).</summary>
    public double ReferenceDice => 1 - SoftDiceLoss;

    /// <summary>The reference's evaluation <c>total</c> (without the L2 term): <see cref="CrossEntropy"/> + <see cref="SoftDiceLoss"/>.</summary>
    public double TotalLoss => CrossEntropy + SoftDiceLoss;

    /// <summary>Number of classes.</summary>
    public int Classes => HardDicePerClass.Count;

    /// <summary>
    /// Volume evaluations (the nnU-Net's, <c>NnUNetEvaluation</c>): the Dice of each foreground
    /// class (class 1 first), each the mean over the cases of that case's Dice (empty truth and
    /// empty prediction score 1, as NVIDIA's nnUNet counts it); null where not measured.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<double>? CaseDicePerClass { get; init; }

    /// <summary>Volume evaluations: the Dice of each named region (e.g. the BraTS regions WT, TC, ET), the mean over the cases; null where not measured.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, double>? RegionDice { get; init; }

    /// <summary>One line: the reference's DICE, hard Dice per class and mean, IoU, accuracy and cross-entropy.</summary>
    public override string ToString()
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        return string.Create(inv, $"DICE {ReferenceDice:F4} | hard Dice {HardMeanDice:F4} [{string.Join(", ", HardDicePerClass.Select(d => d.ToString("F4", inv)))}] | IoU {MeanIoU:F4} | accuracy {PixelAccuracy:F4} | CE {CrossEntropy:F4} ({Samples} samples)");
    }
}

/// <summary>Evaluation metrics of segmentation logits against labels, computed without autograd.</summary>
public static class Metrics
{
    /// <summary>
    /// Every metric of one batch: logits N×C×H×W (any float type, cast to float32), labels one-hot
    /// N×C×H×W or class indices N×H×W (hard metrics use the argmax of one-hot labels). Reads the
    /// device once. To evaluate a set of batches, use a <see cref="MetricsAccumulator"/>.
    /// </summary>
    public static SegmentationMetrics Compute(Tensor logits, Tensor labels) => Measure(logits, labels).ToMetrics();

    private static readonly Scalar One = 1.0.ToScalar();   // held, not a temporary per batch (see Losses.Two)

    /// <summary>The sums of one batch, read back to the host in one copy.</summary>
    internal static MetricSums Measure(Tensor logits, Tensor labels)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var x = Losses.Prepare(logits, labels);
        long classes = x.Classes;
        long[] dims = [0, 1, 2];
        var predicted = F.one_hot(x.Logits.argmax(1), classes);
        var target = F.one_hot(x.Indices ?? x.OneHot.argmax(1), classes);
        var intersection = predicted.mul(target).sum(dims, type: ScalarType.Float64);
        var predictedCount = predicted.sum(dims, type: ScalarType.Float64);
        var targetCount = target.sum(dims, type: ScalarType.Float64);
        var ce = Losses.CrossEntropyCore(x, nn.Reduction.None).sum(type: ScalarType.Float64).reshape(1);
        var diceLoss = Losses.PerSampleDice(x).to(ScalarType.Float64).neg().Plus(One).mean([1]).sum().reshape(1);
        var all = cat([intersection, predictedCount, targetCount, ce, diceLoss]);
        double[] v = all.cpu().data<double>().ToArray();

        int c = checked((int)classes);
        long samples = x.Logits.shape[0];
        long pixels = samples * x.Logits.shape[2] * x.Logits.shape[3];
        return new MetricSums(v[..c], v[c..(2 * c)], v[(2 * c)..(3 * c)], v[3 * c], v[3 * c + 1], samples, pixels);
    }
}

/// <summary>Additive statistics behind <see cref="SegmentationMetrics"/>: per-class counts and loss sums.</summary>
internal sealed record MetricSums(double[] Intersection, double[] Predicted, double[] Target, double CrossEntropySum, double SoftDiceLossSum, long Samples, long Pixels)
{
    public int Classes => Intersection.Length;

    public MetricSums Plus(MetricSums other)
    {
        if (other.Classes != Classes)
            throw new ArgumentException($"a batch with {other.Classes} classes cannot join metrics of {Classes} classes", nameof(other));
        static double[] Add(double[] a, double[] b) => a.Zip(b, (x, y) => x + y).ToArray();
        return new MetricSums(Add(Intersection, other.Intersection), Add(Predicted, other.Predicted), Add(Target, other.Target),
            CrossEntropySum + other.CrossEntropySum, SoftDiceLossSum + other.SoftDiceLossSum, Samples + other.Samples, Pixels + other.Pixels);
    }

    public SegmentationMetrics ToMetrics()
    {
        int c = Classes;
        var dice = new double[c];
        var iou = new double[c];
        for (int k = 0; k < c; k++)
        {
            double sum = Predicted[k] + Target[k];
            dice[k] = sum == 0 ? 1 : 2 * Intersection[k] / sum;
            double union = sum - Intersection[k];
            iou[k] = union == 0 ? 1 : Intersection[k] / union;
        }
        double pixels = Pixels, samples = Samples;
        return new SegmentationMetrics(dice, dice.Average(), iou, iou.Average(),
            Intersection.Sum() / pixels, CrossEntropySum / pixels, SoftDiceLossSum / samples, Samples, Pixels);
    }
}
