using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace UNet.Segmentation.Training;

public static partial class Losses
{
    /// <summary>
    /// Logits and labels as the losses and metrics use them: float32 logits N×C×H×W, float32
    /// one-hot (or soft) labels N×C×H×W, and the class indices N×H×W (int64) when the caller gave
    /// indices. New handles owned by the current dispose scope.
    /// </summary>
    internal readonly record struct Prepared(Tensor Logits, Tensor OneHot, Tensor? Indices, long Classes);

    /// <summary>
    /// Checks the shapes, dtypes and devices before libtorch sees them (ArgumentException naming
    /// the argument) and converts: logits to float32 (as the reference casts its logits), one-hot
    /// labels to float32, class indices to int64 and to a one-hot float32 tensor.
    /// </summary>
    internal static Prepared Prepare(Tensor logits, Tensor labels)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(labels);
        if (logits.IsInvalid) throw new ObjectDisposedException(nameof(logits), "the logits tensor was disposed");
        if (labels.IsInvalid) throw new ObjectDisposedException(nameof(labels), "the labels tensor was disposed");

        long[] ls = logits.shape;
        if (ls.Length != 4)
            throw new ArgumentException($"logits must be N×C×H×W (4 dimensions), got {Describe(logits)}", nameof(logits));
        var logitType = logits.dtype;
        if (!is_floating_point(logitType))
            throw new ArgumentException($"logits must be floating point, got {logitType}", nameof(logits));
        if (ls[1] < 1)
            throw new ArgumentException($"logits need at least one class (dimension 1), got {Describe(logits)}", nameof(logits));
        if (logits.device_type != labels.device_type || logits.device_index != labels.device_index)
            throw new ArgumentException($"labels are on {labels.device}, logits on {logits.device}", nameof(labels));

        var labelType = labels.dtype;
        long[] ts = labels.shape;
        if (ts.Length == 4)
        {
            if (!ts.AsSpan().SequenceEqual(ls))
                throw new ArgumentException($"one-hot labels {Describe(labels)} do not match logits {Describe(logits)}: both must be N×C×H×W", nameof(labels));
            return new Prepared(logits.to(ScalarType.Float32), labels.to(ScalarType.Float32), null, ls[1]);
        }
        if (ts.Length == 3)
        {
            if (is_floating_point(labelType) || labelType == ScalarType.Bool)
                throw new ArgumentException($"class-index labels (N×H×W) must be integers, got {labelType}; one-hot labels must be N×C×H×W", nameof(labels));
            if (ts[0] != ls[0] || ts[1] != ls[2] || ts[2] != ls[3])
                throw new ArgumentException($"class-index labels {Describe(labels)} do not match logits {Describe(logits)}: expected [{ls[0]}, {ls[2]}, {ls[3]}]", nameof(labels));
            var indices = labels.to(ScalarType.Int64);
            var oneHot = F.one_hot(indices, ls[1]).permute(0, 3, 1, 2).to(ScalarType.Float32);
            return new Prepared(logits.to(ScalarType.Float32), oneHot, indices, ls[1]);
        }
        throw new ArgumentException($"labels must be one-hot N×C×H×W or class indices N×H×W, got {Describe(labels)}", nameof(labels));
    }

    private static string Describe(Tensor t) => $"[{string.Join(", ", t.shape)}] {t.dtype}";

    private static void CheckWeightDecay(double weightDecay)
    {
        if (!(weightDecay >= 0) || double.IsInfinity(weightDecay))
            throw new ArgumentOutOfRangeException(nameof(weightDecay), weightDecay, "weight decay must be a finite non-negative number");
    }
}
