using static TorchSharp.torch;
using OptimizerHelper = TorchSharp.Modules.OptimizerHelper;
using Parameter = TorchSharp.Modules.Parameter;

namespace UNet.Segmentation.Training;

/// <summary>
/// A training loss of your own for <see cref="TrainerBuilder.WithLoss(LossFunction, string)"/>:
/// float32 logits N×C×H×W and one-hot labels N×C×H×W in, a differentiable scalar out (its
/// temporaries may stay in the trainer's per-step dispose scope). The trainer adds the coupled L2
/// term (<see cref="TrainerOptions.WeightDecay"/>, 0 turns it off), scales it under float16 and
/// averages its gradients over data-parallel ranks, as for the built-in losses.
/// </summary>
public delegate Tensor LossFunction(Tensor logits, Tensor labels);

/// <summary>
/// Makes the optimizer for <see cref="TrainerBuilder.WithOptimizer"/> over the model's parameters
/// (already on the training device), e.g. <c>p =&gt; torch.optim.SGD(p, 0.01, momentum: 0.9)</c>.
/// The trainer owns and disposes what it returns.
/// </summary>
public delegate OptimizerHelper OptimizerFactory(IReadOnlyList<Parameter> parameters);
