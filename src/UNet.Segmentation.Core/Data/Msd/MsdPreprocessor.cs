using System.Text.Json.Serialization;

namespace UNet.Segmentation.Data.Msd;

/// <summary>
/// What preprocessing did to a case, enough to map a prediction back to the original image (the
/// reference's <c>_meta.npy</c>: crop box, original and cropped shapes; here also spacings,
/// the resampled shape and the padding).
/// </summary>
/// <param name="Id">The case id.</param>
/// <param name="OriginalShape">The image's shape (z, y, x) as read.</param>
/// <param name="CropBox">The box cropped to (<see cref="MsdPreprocessing.PositiveBox"/>), in the original's voxels.</param>
/// <param name="OriginalSpacing">The image's spacing (z, y, x, mm).</param>
/// <param name="TargetSpacing">The spacing resampled to.</param>
/// <param name="ResampledShape">The shape after cropping and resampling.</param>
/// <param name="CoarseAxis">The axis resampled by nearest neighbour, or null (<see cref="MsdPreprocessing.CoarseAxis"/>).</param>
/// <param name="PaddingBefore">Zero voxels added before the data along z, y, x (training cases only).</param>
/// <param name="Shape">The final shape (z, y, x).</param>
/// <param name="Classes">The classes present in the preprocessed label map (empty for a test case).</param>
public sealed record MsdCaseProperties(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("originalShape")] Shape3D OriginalShape,
    [property: JsonPropertyName("cropBox")] Box3D CropBox,
    [property: JsonPropertyName("originalSpacing")] IReadOnlyList<double> OriginalSpacing,
    [property: JsonPropertyName("targetSpacing")] IReadOnlyList<double> TargetSpacing,
    [property: JsonPropertyName("resampledShape")] Shape3D ResampledShape,
    [property: JsonPropertyName("coarseAxis")] int? CoarseAxis,
    [property: JsonPropertyName("paddingBefore")] IReadOnlyList<int> PaddingBefore,
    [property: JsonPropertyName("shape")] Shape3D Shape,
    [property: JsonPropertyName("classes")] IReadOnlyList<int> Classes);

/// <summary>A preprocessed case: the network's input, its labels and what was done.</summary>
/// <param name="Image">C×D×H×W float32, normalised.</param>
/// <param name="Labels">1×D×H×W class indices; null for a test case.</param>
/// <param name="Properties">What preprocessing did.</param>
public sealed record MsdPreprocessedCase(Volume<float> Image, Volume<byte>? Labels, MsdCaseProperties Properties);

/// <summary>
/// The reference's preprocessing of one case (<c>Preprocessor.preprocess_pair</c>), in its order:
/// crop image and labels to the box of the image's positive voxels; resample both to the plan's
/// spacing when the case's differs (images linearly, labels class by class); for CT clip to the
/// foreground percentiles; normalise (CT: z-score with the dataset's foreground statistics;
/// otherwise per-channel z-score over non-zero voxels); for a training case pad both to the patch size.
/// </summary>
public static class MsdPreprocessor
{
    /// <summary>Preprocesses <paramref name="data"/> by <paramref name="plan"/>.</summary>
    /// <exception cref="ArgumentException">The image has no positive voxel, or its channels do not match the plan.</exception>
    public static MsdPreprocessedCase Preprocess(MsdCaseData data, MsdPlan plan)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(plan);
        if (data.Image.Channels != plan.Channels) throw new ArgumentException($"the case {data.Id} has {data.Image.Channels} channels, the plan {plan.Channels}", nameof(data));
        if (plan.IsCt && plan.CtStatistics is null) throw new ArgumentException("a CT plan needs its CT statistics", nameof(plan));
        var box = MsdPreprocessing.PositiveBox(data.Image);
        var image = MsdPreprocessing.Crop(data.Image, box);
        var labels = data.Labels is null ? null : MsdPreprocessing.Crop(data.Labels, box);
        int? coarse = null;
        if (!data.Spacing.SequenceEqual(plan.TargetSpacing))
        {
            var shape = MsdPreprocessing.ResampledShape(image.Shape, data.Spacing, plan.TargetSpacing);
            coarse = MsdPreprocessing.CoarseAxis(data.Spacing, plan.TargetSpacing);
            image = MsdPreprocessing.ResampleImage(image, shape, coarse);
            if (labels is not null) labels = MsdPreprocessing.ResampleLabels(labels, shape, coarse);
        }
        var resampled = image.Shape;
        image = plan.IsCt ? MsdPreprocessing.ClipAndNormalizeCt(image, plan.CtStatistics!) : MsdPreprocessing.NormalizeNonZero(image);
        int[] before = [0, 0, 0];
        if (labels is not null)
        {
            (image, before) = MsdPreprocessing.PadTo(image, plan.PatchSize);
            labels = MsdPreprocessing.PadTo(labels, plan.PatchSize).Volume;
        }
        int[] classes = labels is null ? [] : labels.Data.Distinct().Select(v => (int)v).Order().ToArray();
        var properties = new MsdCaseProperties(data.Id, data.Image.Shape, box, data.Spacing, plan.TargetSpacing.ToArray(), resampled, coarse, before, image.Shape, classes);
        return new MsdPreprocessedCase(image, labels, properties);
    }
}
