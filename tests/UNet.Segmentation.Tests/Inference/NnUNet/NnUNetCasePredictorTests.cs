using UNet.Segmentation.Data.Msd;
using UNet.Segmentation.Imaging.Nifti;
using UNet.Segmentation.Inference.NnUNet;
using UNet.Segmentation.Model.NnUNet;
using UNet.Segmentation.Scoring;
using UNet.Segmentation.Tests.Data;
using static TorchSharp.torch;

namespace UNet.Segmentation.Tests.Inference.NnUNet;

/// <summary><see cref="NnUNetCasePredictor"/> end to end on a synthetic MSD task: files that overlay the input.</summary>
[Collection("LiveTensors")]
public class NnUNetCasePredictorTests
{
    [Fact]
    public void PredictToFolder_WritesLabelsAndProbabilitiesInTheImagesSpace()
    {
        using var temp = new MsdTempTask(new SyntheticMsdOptions { TrainingCases = 2, TestCases = 1, Size = new Shape3D(20, 24, 28), Spacing = [2.0, 1.0, 1.0] });
        var options = NnUNetPlan.For([8, 16, 16], [2.0, 1.0, 1.0], inputChannels: 4, classes: 4, minFeatureMap: 2) with { BaseFilters = 4, MaxFilters = 8, DeepSupervision = false };
        manual_seed(3);
        using var model = new NnUNetModel(options);
        using var window = new NnUNetSlidingWindow(model, new NnUNetPredictionOptions { TestTimeAugmentation = true });
        // The plan resamples to 1 mm, so the prediction is resampled back to the image's 2 mm slices.
        var plan = new MsdPlan([1.0, 1.0, 1.0], new Shape3D(8, 16, 16), false, null, 4, 4);
        var predictor = new NnUNetCasePredictor(window, plan);
        var item = temp.Task.Test[0];
        string output = Path.Combine(temp.Root, "predictions");
        var prediction = predictor.PredictToFolder(temp.Task, item, output, writeProbabilities: true);

        var input = NiftiFile.Read(item.ImagePath);
        var labels = NiftiFile.Read(Path.Combine(output, $"{item.Id}.nii.gz"));
        var probabilities = NiftiFile.Read(Path.Combine(output, $"{item.Id}_probabilities.nii.gz"));
        Assert.Equal(input.Shape[..3], labels.Shape);
        Assert.Equal([.. input.Shape[..3], 4], probabilities.Shape);
        Assert.Equal(input.GetAffine(), labels.GetAffine());
        Assert.Equal(input.GetAffine(), probabilities.GetAffine());
        Assert.Equal(prediction.Labels.Data, labels.GetData<byte>());
        Assert.NotEqual(prediction.Properties.ResampledShape, prediction.Properties.CropBox.Shape);
    }
}
