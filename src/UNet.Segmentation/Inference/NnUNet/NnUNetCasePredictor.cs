using UNet.Segmentation.Data.Msd;
using UNet.Segmentation.Imaging.Nifti;

namespace UNet.Segmentation.Inference.NnUNet;

/// <summary>A case's prediction in its original voxels.</summary>
/// <param name="Probabilities">classes×D×H×W, class 0 the background.</param>
/// <param name="Labels">1×D×H×W, the argmax.</param>
/// <param name="Properties">What preprocessing did to the case.</param>
public sealed record NnUNetCasePrediction(Volume<float> Probabilities, Volume<byte> Labels, MsdCaseProperties Properties);

/// <summary>
/// Predicts whole MSD cases: the reference's preprocessing for a test case (crop, resample,
/// normalise; no padding, <see cref="NnUNetSlidingWindow"/> pads what is shorter than the window),
/// sliding-window probabilities (slice by slice for a 2-D network), then <see cref="MsdPostprocessing.ToOriginal"/> and, for files,
/// <see cref="MsdPredictionWriter"/>.
/// </summary>
public sealed class NnUNetCasePredictor
{
    private readonly NnUNetSlidingWindow _window;

    /// <summary>
    /// A case predictor over <paramref name="window"/> with the task's <paramref name="plan"/>; neither
    /// is owned. A 2-D window predicts each case slice by slice along z (<see cref="NnUNetSlidingWindow.PredictProbabilities(Volume{float})"/>).
    /// </summary>
    public NnUNetCasePredictor(NnUNetSlidingWindow window, MsdPlan plan)
    {
        ArgumentNullException.ThrowIfNull(window);
        ArgumentNullException.ThrowIfNull(plan);
        _window = window;
        Plan = plan;
    }

    /// <summary>The preprocessing plan.</summary>
    public MsdPlan Plan { get; }

    /// <summary>The prediction of one case read by <see cref="MsdCaseReader"/> (its labels, if any, are not used).</summary>
    public NnUNetCasePrediction Predict(MsdCaseData data)
    {
        ArgumentNullException.ThrowIfNull(data);
        var pre = MsdPreprocessor.Preprocess(data with { Labels = null }, Plan);
        var probabilities = _window.PredictProbabilities(pre.Image);
        var original = MsdPostprocessing.ToOriginal(probabilities, pre.Properties);
        return new NnUNetCasePrediction(original, MsdPostprocessing.ArgMax(original), pre.Properties);
    }

    /// <summary>
    /// Predicts <paramref name="item"/> of <paramref name="task"/> and writes &lt;id&gt;.nii.gz (uint8 labels)
    /// and, when asked, &lt;id&gt;_probabilities.nii.gz into <paramref name="outputFolder"/>, in the image's space.
    /// </summary>
    /// <exception cref="MsdDataException">The image cannot be read or does not fit the task.</exception>
    public NnUNetCasePrediction PredictToFolder(MsdTask task, MsdCase item, string outputFolder, bool writeProbabilities = false)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(item);
        ArgumentException.ThrowIfNullOrWhiteSpace(outputFolder);
        var data = MsdCaseReader.Read(task, item with { LabelPath = null });
        var prediction = Predict(data);
        Directory.CreateDirectory(outputFolder);
        var input = NiftiFile.Read(item.ImagePath);
        MsdPredictionWriter.Write(prediction.Probabilities, input, item.ImagePath, Path.Combine(outputFolder, $"{item.Id}.nii.gz"),
            writeProbabilities ? Path.Combine(outputFolder, $"{item.Id}_probabilities.nii.gz") : null);
        return prediction;
    }
}
