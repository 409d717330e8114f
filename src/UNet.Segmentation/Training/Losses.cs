using UNet.Segmentation.Torch;

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
/// float32 tensor owned by the current <see cref="TensorScope"/>; intermediates are freed at once.
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
        using var scope = TensorScope.Begin();
        var loss = SoftDiceCore(Prepare(logits, labels));
        return scope.MoveToOuter(loss);
    }

    /// <summary>The reference's soft Dice coefficient per class (mean over the batch): a float32 tensor of C values; <see cref="SoftDice"/> = mean(1 − this).</summary>
    public static Tensor DiceCoefficient(Tensor logits, Tensor labels)
    {
        using var scope = TensorScope.Begin();
        var result = PerSampleDice(Prepare(logits, labels)).Mean([0]);
        return scope.MoveToOuter(result);
    }

    /// <summary>
    /// The mean over all pixels (N·H·W) of the unweighted softmax cross-entropy. With one-hot
    /// labels it is −Σ_c t·log_softmax(logits) averaged over pixels (soft labels work too); with
    /// class indices it is <see cref="Functional.CrossEntropy"/>. Both give the same value and
    /// gradient for one-hot labels. A scalar.
    /// </summary>
    public static Tensor CrossEntropy(Tensor logits, Tensor labels)
    {
        using var scope = TensorScope.Begin();
        var loss = CrossEntropyCore(Prepare(logits, labels));
        return scope.MoveToOuter(loss);
    }

    /// <summary>The reference's training loss without its L2 term: <see cref="CrossEntropy"/> + <see cref="SoftDice"/>. A scalar.</summary>
    public static Tensor DiceCrossEntropy(Tensor logits, Tensor labels)
    {
        using var scope = TensorScope.Begin();
        var prepared = Prepare(logits, labels);
        var loss = CrossEntropyCore(prepared).Add(SoftDiceCore(prepared));
        return scope.MoveToOuter(loss);
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
    /// loss, build the optimizer (e.g. <c>Adam</c>) with <c>weightDecay: 0</c>, or the decay is
    /// applied twice. A float32 scalar on the parameters' device (zero on the CPU when there are none).
    /// </summary>
    public static Tensor L2(IEnumerable<Tensor> parameters, double weightDecay = DefaultWeightDecay)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        CheckWeightDecay(weightDecay);
        using var scope = TensorScope.Begin();
        var squares = new List<Tensor>();
        foreach (var p in parameters)
        {
            if (p is null) throw new ArgumentException("the parameter list holds null", nameof(parameters));
            if (!p.RequiresGrad) continue;
            var w = p.Dtype == ScalarType.Float32 ? p : p.To(ScalarType.Float32);
            squares.Add(w.Square().Sum());
        }
        var result = squares.Count switch
        {
            0 => Tensor.Scalar(0),
            1 => squares[0].Mul(weightDecay / 2),
            _ => Tensor.Stack(squares).Sum().Mul(weightDecay / 2),
        };
        return scope.MoveToOuter(result);
    }

    /// <summary>Per sample and class soft dice (N×C), float32.</summary>
    internal static Tensor PerSampleDice(Prepared x)
    {
        var p = x.Logits.Softmax(1);
        var intersection = p.Mul(x.OneHot).Sum([2, 3]);
        var union = p.Square().Add(x.OneHot.Square()).Sum([2, 3]);
        return intersection.Mul(2.0).Add(DiceEpsilon).Div(union.Add(DiceEpsilon));
    }

    /// <summary>The soft Dice loss in the reference's order of operations: mean over classes of (1 − batch-mean dice).</summary>
    private static Tensor SoftDiceCore(Prepared x) => PerSampleDice(x).Mean([0]).Neg().Add(1.0).Mean();

    /// <summary>Per-pixel cross-entropy summed (float32 scalar) or averaged.</summary>
    internal static Tensor CrossEntropyCore(Prepared x, Reduction reduction = Reduction.Mean)
    {
        if (x.Indices is { } indices) return Functional.CrossEntropy(x.Logits, indices, reduction: reduction);
        var perPixel = x.Logits.LogSoftmax(1).Mul(x.OneHot).Sum([1]).Neg();
        return reduction switch
        {
            Reduction.Mean => perPixel.Mean(),
            Reduction.Sum => perPixel.Sum(),
            _ => perPixel,
        };
    }
}
