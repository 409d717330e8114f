using static TorchSharp.torch;

namespace UNet.Segmentation.Benchmarks.Profiling;

/// <summary>
/// One operator of a U-Net step, replayable in isolation on tensors of its real shape, type and
/// layout: <see cref="Prepare"/> (not timed) makes fresh inputs and names the tensors whose
/// gradients the step's backward computes; <see cref="Forward"/> (timed) runs the operator; its
/// backward (timed) is <c>autograd.grad</c> of the output with a ones gradient, with respect to
/// those tensors (none: the operator has no backward in the step). Operators of the same
/// <see cref="Name"/> are one shape, replayed once and counted <see cref="Count"/> times.
/// </summary>
/// <param name="Name">The operator and its shape, e.g. <c>conv3x3 64→64 @570</c>.</param>
/// <param name="Kind">What the operator is (conv3x3, relu, max-pool, ...), for the per-kind totals.</param>
/// <param name="ForwardFlops">Floating-point operations of one forward call (convolutions only; 0 otherwise).</param>
/// <param name="BackwardFlops">Of one backward call: input and weight gradients (0 for the operators the floor does not count).</param>
/// <param name="Prepare">Makes the inputs of one call: (arguments of <see cref="Forward"/>, tensors to differentiate with respect to).</param>
/// <param name="Forward">The operator on the prepared arguments.</param>
public sealed record ProfiledOp(
    string Name, string Kind, double ForwardFlops, double BackwardFlops,
    Func<(Tensor[] Args, Tensor[] GradTargets)> Prepare, Func<Tensor[], Tensor> Forward)
{
    /// <summary>How many times the step runs this operator at this shape.</summary>
    public int Count { get; init; } = 1;
}
