using TorchSharp;
using static TorchSharp.torch;

namespace UNet.Segmentation.Training;

/// <summary>
/// What the training loop needs of a network, so that one loop trains the U-Net
/// (<see cref="Model.UNetModel"/>) and nnU-Net (<see cref="Model.NnUNet.NnUNetModel"/>) alike:
/// the module (parameters, state dict, training mode), its shape contract, the training forward
/// pass and the options that identify its architecture in checkpoints. Made by
/// <see cref="TrainableNetwork.Of(Model.UNetModel)"/> or <see cref="TrainableNetwork.Of(Model.NnUNet.NnUNetModel)"/>.
/// </summary>
public interface ITrainableNetwork
{
    /// <summary>The network (not owned by the adapter).</summary>
    nn.Module Module { get; }

    /// <summary>2 for N×C×H×W images, 3 for N×C×D×H×W volumes.</summary>
    int SpatialDims { get; }

    /// <summary>The image channels the network takes.</summary>
    int InputChannels { get; }

    /// <summary>The classes it predicts (background included).</summary>
    int Classes { get; }

    /// <summary>The checkpoint metadata key of its options.</summary>
    string OptionsMetadataKey { get; }

    /// <summary>Its options as JSON (equal JSON: the same architecture).</summary>
    string OptionsJson { get; }

    /// <summary>Throws an <see cref="InvalidDataException"/> naming <paramref name="path"/> unless <paramref name="json"/> (a checkpoint's options) describes this network's architecture.</summary>
    void CheckOptions(string path, string json);

    /// <summary>
    /// The training forward pass: what the loss takes (the U-Net's logits; the nnU-Net's stacked
    /// deep-supervision outputs) and the main logits N×classes×spatial that the step's metrics
    /// read (the same tensor for the U-Net; output 0 for the nnU-Net). Both belong to the caller's dispose scope.
    /// </summary>
    (Tensor ForLoss, Tensor Logits) TrainingForward(Tensor images);

    /// <summary>The inference forward pass: logits N×classes×spatial at the input's resolution.</summary>
    Tensor Forward(Tensor images);

    /// <summary>The name of <see cref="DefaultLoss"/> in logs.</summary>
    string DefaultLossName { get; }

    /// <summary>The soft Dice coefficient of a training step's main logits and labels, as the step's log reports it.</summary>
    double StepDice(Tensor logits, Tensor labels);

    /// <summary>The network's own training loss of <see cref="TrainingForward"/>'s first result and the batch's labels.</summary>
    Tensor DefaultLoss(Tensor forLoss, Tensor labels);
}
