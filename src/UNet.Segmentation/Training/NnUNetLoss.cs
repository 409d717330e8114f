using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;
using UNet.Segmentation.Runtime;

namespace UNet.Segmentation.Training;

/// <summary>
/// nnU-Net's training loss as NVIDIA's DeepLearningExamples nnUNet (PyTorch) computes it for the
/// non-BraTS tasks: MONAI's Dice + cross-entropy with softmax, one-hot labels, the background
/// left out of the Dice and the Dice reduced over the whole batch; with deep supervision, output
/// i's loss weighed by 0.5^i and the sum divided by the sum of the weights. Logits are
/// N×C×(D×)H×W of any floating-point type (float64 stays float64; anything else is computed in
/// float32); labels are class indices N×1×(D×)H×W (as <c>MsdTrainingBatches</c> gives them) or
/// N×(D×)H×W, of an integer type. Results are scalars owned by the caller's dispose scope.
/// </summary>
public static class NnUNetLoss
{
    /// <summary>MONAI's default smoothing of the Dice's numerator and denominator.</summary>
    public const double DiceSmooth = 1e-5;

    // Scalars held for the process: implicit double → Scalar conversions per call can be finalized while libtorch reads them.
    private static readonly Scalar Two = 2.0.ToScalar(), One = 1.0.ToScalar(), Smooth = DiceSmooth.ToScalar();

    /// <summary>
    /// Dice loss + cross-entropy of one output: p = softmax(logits) over classes, t = one-hot
    /// labels; for each class c ≥ 1, 1 − (2·Σ p·t + 1e-5) / (Σ t + Σ p + 1e-5) with the sums over
    /// the batch and every voxel, averaged over those classes; plus the voxel-mean cross-entropy
    /// over all classes. With one class (no foreground) the Dice term is 0.
    /// </summary>
    /// <exception cref="ArgumentException">The logits or labels have the wrong rank, type or shape (the message names both shapes), or a label is not a class of the logits.</exception>
    public static Tensor DiceCrossEntropy(Tensor logits, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var (x, indices) = Prepare(logits, labels);
        return Single(x, indices).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The deep-supervision loss of <c>NnUNetModel.ForwardWithDeepSupervision</c>'s output
    /// N×K×C×(D×)H×W (output 0 the main logits, output i head i's brought to full resolution):
    /// Σ_i w_i · <see cref="DiceCrossEntropy"/>(outputs[:, i], labels) with the full-resolution
    /// labels and w = <see cref="DeepSupervisionWeights"/>(K).
    /// </summary>
    /// <exception cref="ArgumentException">The outputs are not N×K×C×spatial or the labels do not fit them (the message names both shapes).</exception>
    public static Tensor DeepSupervision(Tensor outputs, Tensor labels)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        if (outputs.dim() < 5)
            throw new ArgumentException($"deep-supervision outputs must be N×K×C×(D×)H×W (5 or 6 dimensions), got {Describe(outputs)}; labels {Describe(labels)}", nameof(outputs));
        using var scope = NewDisposeScope();
        var weights = DeepSupervisionWeights((int)outputs.shape[1]);
        Tensor? total = null;
        for (int i = 0; i < weights.Length; i++)
        {
            var (x, indices) = Prepare(outputs.select(1, i), labels);
            using var weight = weights[i].ToScalar();
            var term = Single(x, indices).mul(weight);
            total = total is null ? term : total.Plus(term);
        }
        return total!.MoveToOuterDisposeScope();
    }

    /// <summary>The weights of <paramref name="outputs"/> deep-supervision outputs: 0.5^i / Σ_j 0.5^j (they sum to 1).</summary>
    public static double[] DeepSupervisionWeights(int outputs)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(outputs, 1);
        var raw = Enumerable.Range(0, outputs).Select(i => Math.Pow(0.5, i)).ToArray();
        double sum = raw.Sum();
        return raw.Select(w => w / sum).ToArray();
    }

    /// <summary>The soft Dice coefficient of the Dice term: mean over the foreground classes of (2·Σ p·t + 1e-5) / (Σ t + Σ p + 1e-5) over the batch (1 with one class).</summary>
    /// <exception cref="ArgumentException">As <see cref="DiceCrossEntropy"/>.</exception>
    public static Tensor ForegroundDice(Tensor logits, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var (x, indices) = Prepare(logits, labels);
        var result = x.shape[1] < 2 ? tensor(1f) : DiceTerm(x, indices).neg().Plus(One);
        return result.MoveToOuterDisposeScope();
    }

    private static Tensor Single(Tensor logits, Tensor indices)
    {
        var ce = F.cross_entropy(logits, indices);
        return logits.shape[1] < 2 ? ce : DiceTerm(logits, indices).Plus(ce);
    }

    /// <summary>Mean over the foreground classes of 1 − dice.</summary>
    private static Tensor DiceTerm(Tensor logits, Tensor indices)
    {
        long classes = logits.shape[1];
        int dims = (int)logits.dim();
        var order = new long[dims];
        order[0] = 0;
        order[1] = dims - 1;
        for (int d = 2; d < dims; d++) order[d] = d - 1;
        var p = logits.softmax(1).narrow(1, 1, classes - 1);
        var t = F.one_hot(indices, classes).permute(order).to(logits.dtype).narrow(1, 1, classes - 1);
        var reduce = new long[dims - 1];
        reduce[0] = 0;
        for (int d = 2; d < dims; d++) reduce[d - 1] = d;
        var intersection = p.mul(t).sum(reduce);
        var denominator = t.sum(reduce).Plus(p.sum(reduce));
        return intersection.mul(Two).Plus(Smooth).div(denominator.Plus(Smooth)).neg().Plus(One).mean();
    }

    /// <summary>Checked logits (float32 or float64) and int64 class indices N×spatial, new handles in the current scope.</summary>
    private static (Tensor Logits, Tensor Indices) Prepare(Tensor logits, Tensor labels)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(labels);
        long[] ls = logits.shape, ts = labels.shape;
        if (ls.Length < 4 || ls.Length > 5 || !is_floating_point(logits.dtype))
            throw new ArgumentException($"logits must be floating-point N×C×H×W or N×C×D×H×W, got {Describe(logits)}; labels {Describe(labels)}", nameof(logits));
        if (is_floating_point(labels.dtype) || labels.dtype == ScalarType.Bool)
            throw new ArgumentException($"labels must be integer class indices, got {Describe(labels)}; logits {Describe(logits)}", nameof(labels));
        var spatial = ls[2..];
        bool withChannel = ts.Length == ls.Length && ts[1] == 1 && ts[2..].SequenceEqual(spatial);
        bool without = ts.Length == ls.Length - 1 && ts[1..].SequenceEqual(spatial);
        if (ts.Length == 0 || ts[0] != ls[0] || !(withChannel || without))
            throw new ArgumentException($"labels {Describe(labels)} do not fit logits {Describe(logits)}: expected [{ls[0]}, 1, {string.Join(", ", spatial)}] or [{ls[0]}, {string.Join(", ", spatial)}]", nameof(labels));
        var indices = (withChannel ? labels.squeeze(1) : labels).to(ScalarType.Int64);
        long min = indices.min().item<long>(), max = indices.max().item<long>();
        if (min < 0 || max >= ls[1])
            throw new ArgumentException($"labels hold classes {min}..{max}; logits {Describe(logits)} have classes 0..{ls[1] - 1}", nameof(labels));
        var x = logits.dtype is ScalarType.Float32 or ScalarType.Float64 ? logits : logits.to(ScalarType.Float32);
        return (x, indices);
    }

    private static string Describe(Tensor? t) => t is null ? "null" : $"[{string.Join(", ", t.shape)}] {t.dtype}";
}
