using UNet.Segmentation.Data.Msd;
using UNet.Segmentation.Imaging.Nifti;

namespace UNet.Segmentation.Tests.Data;

/// <summary><see cref="MsdPostprocessing"/> and <see cref="MsdPredictionWriter"/>: back to the original voxels and into NIfTI.</summary>
public class MsdPostprocessingTests
{
    // Original 6×10×12; the image is positive in [1:5, 2:8, 3:11] (box 4×6×8) and labels live inside it.
    private static MsdCaseData Case(double[] spacing)
    {
        var shape = new Shape3D(6, 10, 12);
        var image = Volume<float>.Zeros(1, shape);
        var labels = Volume<byte>.Zeros(1, shape);
        for (int z = 1; z < 5; z++)
            for (int y = 2; y < 8; y++)
                for (int x = 3; x < 11; x++)
                {
                    int i = (z * 10 + y) * 12 + x;
                    image.Data[i] = 1 + x + y;
                    labels.Data[i] = (byte)(x < 6 ? 1 : y >= 6 ? 2 : 0);
                }
        return new MsdCaseData("case_1", image, labels, spacing);
    }

    private static Volume<float> OneHot(Volume<byte> labels, int classes)
    {
        var result = Volume<float>.Zeros(classes, labels.Shape);
        int n = labels.Shape.Voxels;
        for (int i = 0; i < n; i++) result.Data[labels.Data[i] * n + i] = 1;
        return result;
    }

    [Fact]
    public void OneHotOfThePreprocessedLabels_ComesBackAsTheOriginalLabels()
    {
        var data = Case([1.0, 1.0, 1.0]);
        var plan = new MsdPlan([1.0, 1.0, 1.0], new Shape3D(8, 8, 8), false, null, 1, 3);
        var pre = MsdPreprocessor.Preprocess(data, plan);
        Assert.NotEqual(pre.Properties.ResampledShape, pre.Properties.Shape); // padded along z and y
        var back = MsdPostprocessing.ToOriginal(OneHot(pre.Labels!, 3), pre.Properties);
        Assert.Equal(data.Image.Shape, back.Shape);
        Assert.Equal(data.Labels!.Data, MsdPostprocessing.ArgMax(back).Data);
    }

    [Fact]
    public void ResampledProbabilities_StayProbabilities_AndTheOutsideIsBackground()
    {
        var data = Case([1.0, 1.0, 1.0]);
        var plan = new MsdPlan([1.0, 2.0, 2.0], new Shape3D(4, 4, 4), false, null, 1, 3);
        var pre = MsdPreprocessor.Preprocess(data, plan);
        Assert.Equal(new Shape3D(4, 3, 4), pre.Properties.ResampledShape);
        var probabilities = Volume<float>.Zeros(3, pre.Properties.Shape);
        var random = new Random(1);
        int n = pre.Properties.Shape.Voxels;
        for (int i = 0; i < n; i++)
        {
            float a = (float)random.NextDouble(), b = (float)random.NextDouble() * (1 - a);
            probabilities.Data[i] = a;
            probabilities.Data[n + i] = b;
            probabilities.Data[2 * n + i] = 1 - a - b;
        }
        var back = MsdPostprocessing.ToOriginal(probabilities, pre.Properties);
        int m = back.Shape.Voxels;
        for (int i = 0; i < m; i++)
            Assert.Equal(1f, back.Data[i] + back.Data[m + i] + back.Data[2 * m + i], 5);
        Assert.Equal(1f, back[0, 0, 0, 0]);
        Assert.Equal(1f, back[0, 5, 9, 11]);
        Assert.Equal(0f, back[1, 5, 9, 11]);
    }

    [Fact]
    public void ProbabilitiesOfAnotherShape_AreRefusedNamingTheCase()
    {
        var pre = MsdPreprocessor.Preprocess(Case([1.0, 1.0, 1.0]), new MsdPlan([1.0, 1.0, 1.0], new Shape3D(4, 4, 4), false, null, 1, 3));
        var e = Assert.Throws<ArgumentException>(() => MsdPostprocessing.ToOriginal(Volume<float>.Zeros(3, new Shape3D(4, 6, 7)), pre.Properties));
        Assert.Equal("probabilities", e.ParamName);
        Assert.Contains("case_1", e.Message);
    }

    [Fact]
    public void NiftiOutputs_OverlayTheInput()
    {
        string folder = Directory.CreateTempSubdirectory("nnunet-predict-").FullName;
        try
        {
            // A 2-channel input of 12×10×6 (X×Y×Z) with an oblique sform.
            var input = NiftiImage.Create(new float[12 * 10 * 6 * 2], 12, 10, 6, 2);
            double[,] affine = { { 0, -1.5, 0, 10 }, { 0.75, 0, 0, -4 }, { 0, 0, 2.5, 7 }, { 0, 0, 0, 1 } };
            input.Header.SetSform(affine, 1);
            var probabilities = Volume<float>.Zeros(3, new Shape3D(6, 10, 12));
            probabilities.Channel(0).Fill(0.2f);
            probabilities.Channel(2).Fill(0.8f);
            probabilities.Data[5] = 0.9f; // channel 0 at (0, 0, 5): background wins there
            string labelsPath = Path.Combine(folder, "case_1.nii.gz"), probabilitiesPath = Path.Combine(folder, "case_1_probabilities.nii.gz");
            MsdPredictionWriter.Write(probabilities, input, "input.nii.gz", labelsPath, probabilitiesPath);
            var labels = NiftiFile.Read(labelsPath);
            var probs = NiftiFile.Read(probabilitiesPath);
            Assert.Equal([12, 10, 6], labels.Shape);
            Assert.Equal([12, 10, 6, 3], probs.Shape);
            Assert.Equal(NiftiDataType.UInt8, labels.DataType);
            Assert.Equal(input.GetAffine(), labels.GetAffine()); // values exact in float32, as NIfTI-1 stores them
            Assert.Equal(affine, probs.GetAffine());
            var l = labels.GetData<byte>();
            Assert.Equal(0, l[labels.IndexOf(5, 0, 0)]);
            Assert.Equal(2, l[labels.IndexOf(6, 0, 0)]);
            Assert.Equal(0.8f, probs.GetData<float>()[probs.IndexOf(3, 4, 5, 2)]);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void AnInputWithoutAffine_OrOfAnotherShape_IsRefusedNamingTheFile()
    {
        var probabilities = Volume<float>.Zeros(2, new Shape3D(6, 10, 12));
        var bare = NiftiImage.Create(new float[12 * 10 * 6], 12, 10, 6);
        var e = Assert.Throws<ArgumentException>(() => MsdPredictionWriter.Write(probabilities, bare, "bare.nii", "out.nii"));
        Assert.Contains("bare.nii", e.Message);
        var other = NiftiImage.Create(new float[12 * 10 * 5], 12, 10, 5);
        other.Header.SetSform(new double[,] { { 1, 0, 0, 0 }, { 0, 1, 0, 0 }, { 0, 0, 1, 0 }, { 0, 0, 0, 1 } });
        e = Assert.Throws<ArgumentException>(() => MsdPredictionWriter.Write(probabilities, other, "other.nii", "out.nii"));
        Assert.Equal("probabilities", e.ParamName);
        Assert.Contains("other.nii", e.Message);
    }
}
