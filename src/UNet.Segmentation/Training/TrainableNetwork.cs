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
        public void CheckOptions(string path, string json) => Checkpoints.CheckOptions(path, json, model.Options);

        public (Tensor ForLoss, Tensor Logits) TrainingForward(Tensor images)
        {
            var logits = model.call(images);
            return (logits, logits);
        }

        public Tensor DefaultLoss(Tensor forLoss, Tensor labels) => Losses.DiceCrossEntropy(forLoss, labels);
        public string DefaultLossName => LossKind.DiceCrossEntropy.ToString();
        public Tensor Forward(Tensor images) => model.call(images);

        public double StepDice(Tensor logits, Tensor labels)
        {
            using var noGrad = no_grad();
            using var loss = Losses.SoftDice(logits, labels);
            return 1 - loss.item<float>();
        }
    }

    private sealed class NnUNetAdapter(NnUNetModel model) : ITrainableNetwork
    {
        public nn.Module Module => model;
        public int SpatialDims => model.Options.SpatialDims;
        public int InputChannels => model.Options.InputChannels;
        public int Classes => model.Options.Classes;
        public string OptionsMetadataKey => NnUNetModel.OptionsMetadataKey;
        public string OptionsJson => model.Options.ToJson();

        public void CheckOptions(string path, string json)
        {
            string saved;
            try
            {
                saved = NnUNetOptions.FromJson(json).ToJson();
            }
            catch (System.Text.Json.JsonException e)
            {
                throw new InvalidDataException($"{path}: the '{OptionsMetadataKey}' metadata is not valid nnU-Net options ({e.Message})", e);
            }
            if (saved != OptionsJson)
                throw new InvalidDataException($"{path} was written for another nnU-Net architecture ({saved}) than this model ({OptionsJson})");
        }

        public (Tensor ForLoss, Tensor Logits) TrainingForward(Tensor images)
        {
            if (images.dim() != SpatialDims + 2)
                throw new ArgumentException($"a {SpatialDims}-D nnU-Net takes {(SpatialDims == 3 ? "N×C×D×H×W" : "N×C×H×W")} images; got [{string.Join(", ", images.shape)}]", nameof(images));
            var outputs = model.ForwardWithDeepSupervision(images);
            return (outputs, outputs.select(1, 0));
        }

        public Tensor DefaultLoss(Tensor forLoss, Tensor labels) => NnUNetLoss.DeepSupervision(forLoss, labels);
        public string DefaultLossName => "nnU-Net Dice + cross-entropy, deep supervision";
        public Tensor Forward(Tensor images) => model.forward(images);

        public double StepDice(Tensor logits, Tensor labels)
        {
            using var noGrad = no_grad();
            using var dice = NnUNetLoss.ForegroundDice(logits, labels);
            return dice.item<float>();
        }
    }
}
