using UNet.Segmentation.Model;
using UNet.Segmentation.Model.NnUNet;
using static TorchSharp.torch;

namespace UNet.Segmentation.Training;

/// <summary>The <see cref="ITrainableNetwork"/> adapters of the library's networks.</summary>
public static class TrainableNetwork
{
    /// <summary>The U-Net: forward = <c>model.call</c>, the loss the reference's Dice + cross-entropy on one-hot labels.</summary>
    public static ITrainableNetwork Of(UNetModel model) => new UNetAdapter(model ?? throw new ArgumentNullException(nameof(model)));

    /// <summary>
    /// The nnU-Net: forward = <see cref="NnUNetModel.ForwardWithDeepSupervision"/>, the loss
    /// <see cref="NnUNetLoss.DeepSupervision"/> on class-index labels N×1×spatial.
    /// </summary>
    public static ITrainableNetwork Of(NnUNetModel model) => new NnUNetAdapter(model ?? throw new ArgumentNullException(nameof(model)));

    private sealed class UNetAdapter(UNetModel model) : ITrainableNetwork
    {
        public nn.Module Module => model;
        public int SpatialDims => 2;
        public int InputChannels => model.Options.InputChannels;
        public int Classes => model.Options.Classes;
        public string OptionsMetadataKey => UNetModel.OptionsMetadataKey;
        public string OptionsJson => model.Options.ToJson();

        public (Tensor ForLoss, Tensor Logits) TrainingForward(Tensor images)
        {
            var logits = model.call(images);
            return (logits, logits);
        }

        public Tensor DefaultLoss(Tensor forLoss, Tensor labels) => Losses.DiceCrossEntropy(forLoss, labels);
    }

    private sealed class NnUNetAdapter(NnUNetModel model) : ITrainableNetwork
    {
        public nn.Module Module => model;
        public int SpatialDims => model.Options.SpatialDims;
        public int InputChannels => model.Options.InputChannels;
        public int Classes => model.Options.Classes;
        public string OptionsMetadataKey => NnUNetModel.OptionsMetadataKey;
        public string OptionsJson => model.Options.ToJson();

        public (Tensor ForLoss, Tensor Logits) TrainingForward(Tensor images)
        {
            if (images.dim() != SpatialDims + 2)
                throw new ArgumentException($"a {SpatialDims}-D nnU-Net takes {(SpatialDims == 3 ? "N×C×D×H×W" : "N×C×H×W")} images; got [{string.Join(", ", images.shape)}]", nameof(images));
            var outputs = model.ForwardWithDeepSupervision(images);
            return (outputs, outputs.select(1, 0));
        }

        public Tensor DefaultLoss(Tensor forLoss, Tensor labels) => NnUNetLoss.DeepSupervision(forLoss, labels);
    }
}
