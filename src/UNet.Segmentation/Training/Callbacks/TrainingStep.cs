using static TorchSharp.torch;

namespace UNet.Segmentation.Training.Callbacks;

/// <summary>
/// One finished optimizer step, as <see cref="ITrainingCallback.OnStepEnd"/> sees it. The loss and
/// Dice are read from the step's tensors only when asked (reading synchronises a GPU), and
/// <see cref="Logits"/> and <see cref="Labels"/> are valid only during the call: they belong to
/// the step's dispose scope.
/// </summary>
public sealed class TrainingStep
{
    private readonly Tensor _loss;
    private double? _lossValue, _dice;
    private readonly Func<Tensor, Tensor, double>? _stepDice;

    internal TrainingStep(long step, long maxSteps, double learningRate, double imagesPerSecond, double lossScale, bool skipped, Tensor loss, Tensor logits, Tensor labels,
        Func<Tensor, Tensor, double>? stepDice = null)
    {
        _stepDice = stepDice;
        (Step, MaxSteps, LearningRate, ImagesPerSecond, LossScale, Skipped) = (step, maxSteps, learningRate, imagesPerSecond, lossScale, skipped);
        (_loss, Logits, Labels) = (loss, logits, labels);
    }

    /// <summary>Steps taken so far (this one included; a resumed run counts the earlier ones).</summary>
    public long Step { get; }

    /// <summary>The step the fit ends at (<see cref="Trainer.StepsPerRank"/>).</summary>
    public long MaxSteps { get; }

    /// <summary>The learning rate this step used.</summary>
    public double LearningRate { get; }

    /// <summary>Images per second of this step, all ranks together (batch × world size / the step's wall time).</summary>
    public double ImagesPerSecond { get; }

    /// <summary>The loss scaler's scale after this step (1 without float16).</summary>
    public double LossScale { get; }

    /// <summary>True when the loss scaler skipped this step for non-finite gradients.</summary>
    public bool Skipped { get; }

    /// <summary>This rank's training loss of the step (the L2 term included).</summary>
    public double Loss => _lossValue ??= _loss.item<float>();

    /// <summary>This rank's soft Dice coefficient of the step's batch (1 − the reference's Dice loss).</summary>
    public double Dice
    {
        get
        {
            if (_dice is null && _stepDice is not null) _dice = _stepDice(Logits, Labels);
            if (_dice is null)
            {
                using var noGrad = no_grad();
                using var loss = Losses.SoftDice(Logits, Labels);
                _dice = 1 - loss.item<float>();
            }
            return _dice.Value;
        }
    }

    /// <summary>The step's logits (N×C×H×W); valid only during the callback.</summary>
    public Tensor Logits { get; }

    /// <summary>The step's one-hot labels (N×C×H×W); valid only during the callback.</summary>
    public Tensor Labels { get; }

    /// <summary>
    /// On the steps the trainer logs (every <see cref="TrainerOptions.LogEvery"/>), the logged
    /// record: loss and Dice averaged over the data-parallel ranks, throughput since the previous
    /// record. Null on other steps.
    /// </summary>
    public StepRecord? Logged { get; internal set; }
}
