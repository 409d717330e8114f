using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;
using UNet.Segmentation.Runtime;

namespace UNet.Segmentation.Training;

/// <summary>Which training loss <see cref="Losses.Compute"/> evaluates.</summary>
public enum LossKind
{
    /// <summary>Cross-entropy + soft Dice loss: the reference's training loss (without its L2 term).</summary>
    DiceCrossEntropy = 0,
    /// <summary>The soft Dice loss alone.</summary>
    Dice = 1,
    /// <summary>The pixel-mean softmax cross-entropy alone.</summary>
    CrossEntropy = 2,
}

/// <summary>
/// The reference's (NVIDIA UNet_Medical, TF2) losses as differentiable tensor functions.
/// Logits are N×C×H×W of any floating-point type and are cast to float32 first, as the
/// reference does; labels are one-hot (or soft) N×C×H×W, as <c>Batch.Labels</c>, or class
/// indices N×H×W of an integer type, as <c>Batch.Classes</c>. Shapes are checked before
/// libtorch sees them (<see cref="ArgumentException"/> naming the argument). Every result is a
/// float32 tensor owned by the caller's dispose scope (if any); intermediates are freed at once.
/// </summary>
public static partial class Losses
{
    /// <summary>The smoothing term of the reference's Dice: (2·Σp·t + ε) / (Σ(p² + t²) + ε).</summary>
    public const double DiceEpsilon = 1e-6;

    /// <summary>The reference's default coupled L2 weight decay.</summary>
    public const double DefaultWeightDecay = 5e-4;

    /// <summary>
    /// The reference's soft Dice loss (V-Net form): p = softmax(logits) over classes; per sample
    /// and class dice = (2·Σ p·t + 1e-6) / (Σ(p² + t²) + 1e-6) over pixels; mean over the batch;
    /// loss = mean over classes of (1 − dice). A scalar.
    /// </summary>
    public static Tensor SoftDice(Tensor logits, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var loss = SoftDiceCore(Prepare(logits, labels));
        return loss.MoveToOuterDisposeScope();
    }

    /// <summary>The reference's soft Dice coefficient per class (mean over the batch): a float32 tensor of C values; <see cref="SoftDice"/> = mean(1 − this).</summary>
    public static Tensor DiceCoefficient(Tensor logits, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var result = PerSampleDice(Prepare(logits, labels)).mean([0]);
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The mean over all pixels (N·H·W) of the unweighted softmax cross-entropy. With one-hot
    /// labels it is −Σ_c t·log_softmax(logits) averaged over pixels (soft labels work too); with
    /// class indices it is <c>torch.nn.functional.cross_entropy</c>. Both give the same value and
    /// gradient for one-hot labels. A scalar.
    /// </summary>
    public static Tensor CrossEntropy(Tensor logits, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var loss = CrossEntropyCore(Prepare(logits, labels));
        return loss.MoveToOuterDisposeScope();
    }

    /// <summary>The reference's training loss without its L2 term: <see cref="CrossEntropy"/> + <see cref="SoftDice"/>. A scalar.</summary>
    public static Tensor DiceCrossEntropy(Tensor logits, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var prepared = Prepare(logits, labels);
        var loss = CrossEntropyCore(prepared).Plus(SoftDiceCore(prepared));
        return loss.MoveToOuterDisposeScope();
    }

    /// <summary>The loss named by <paramref name="kind"/>.</summary>
    public static Tensor Compute(LossKind kind, Tensor logits, Tensor labels) => kind switch
    {
        LossKind.DiceCrossEntropy => DiceCrossEntropy(logits, labels),
        LossKind.Dice => SoftDice(logits, labels),
        LossKind.CrossEntropy => CrossEntropy(logits, labels),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown loss kind"),
    };

    /// <summary>
    /// The reference's coupled L2 term: <paramref name="weightDecay"/> · Σ‖w‖²/2 over every
    /// tensor of <paramref name="parameters"/> that requires grad (weights and biases alike, as
    /// the reference's trainable variables), summed in float32. Its gradient is weightDecay · w,
    /// exactly what an optimizer's own (coupled) weight decay adds: when this term is part of the
    /// loss, build the optimizer (e.g. <c>torch.optim.Adam</c>) with <c>weight_decay: 0</c>, or the
    /// decay is applied twice. A float32 scalar on the parameters' device (zero on the CPU when there are none).
    /// </summary>
    public static Tensor L2(IEnumerable<Tensor> parameters, double weightDecay = DefaultWeightDecay)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        CheckWeightDecay(weightDecay);
        using var scope = NewDisposeScope();
        var squares = new List<Tensor>();
        foreach (var p in parameters)
        {
            if (p is null) throw new ArgumentException("the parameter list holds null", nameof(parameters));
            if (!p.requires_grad) continue;
            var w = p.dtype == ScalarType.Float32 ? p : p.to(ScalarType.Float32);
            squares.Add(w.Squared().sum());
        }
        using Scalar half = (weightDecay / 2).ToScalar();   // held until the call returns (see Two)
        var result = squares.Count switch
        {
            0 => tensor(0f),
            1 => squares[0].mul(half),
            _ => stack(squares).sum().mul(half),
        };
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>Per sample and class soft dice (N×C), float32.</summary>
    internal static Tensor PerSampleDice(Prepared x)
    {
        var p = x.Logits.softmax(1);
        var intersection = p.mul(x.OneHot).sum(PixelDims);
        var union = p.Squared().Plus(x.OneHot.Squared()).sum(PixelDims);
        return intersection.mul(Two).Plus(Epsilon).div(union.Plus(Epsilon));
    }

    // Scalars made once and held: an implicit double → Scalar per call is garbage as soon as its
    // handle is read, so the finalizer thread can free it while libtorch still reads it (the
    // nnU-Net's runs crashed so at random steps, "toFloat at c10/core/Scalar.h:140"). Plus/Squared
    // (Runtime/HeldScalars.cs) avoid the Scalars that TorchSharp's add(t)/add(s)/square() make inside.
    private static readonly Scalar Two = 2.0.ToScalar(), One = 1.0.ToScalar(), Epsilon = DiceEpsilon.ToScalar();

    private static readonly long[] PixelDims = [2, 3];

    /// <summary>The soft Dice loss in the reference's order of operations: mean over classes of (1 − batch-mean dice).</summary>
    private static Tensor SoftDiceCore(Prepared x) => PerSampleDice(x).mean([0]).neg().Plus(One).mean();

    /// <summary>Per-pixel cross-entropy summed (float32 scalar), averaged, or per pixel (N×H×W).</summary>
    internal static Tensor CrossEntropyCore(Prepared x, nn.Reduction reduction = nn.Reduction.Mean)
    {
        if (x.Indices is { } indices) return F.cross_entropy(x.Logits, indices, reduction: reduction);
        var perPixel = x.Logits.log_softmax(1).mul(x.OneHot).sum(1).neg();
        return reduction switch
        {
            nn.Reduction.Mean => perPixel.mean(),
            nn.Reduction.Sum => perPixel.sum(),
            _ => perPixel,
        };
    }
}
