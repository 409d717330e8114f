using UNet.Segmentation.Data.Msd;
using UNet.Segmentation.Imaging.Nifti;

namespace UNet.Segmentation.Tests.Data;

public sealed class SyntheticMsdTests
{
    [Fact]
    public void Generate_WritesTheMsdLayout_Deterministically()
    {
        var options = new SyntheticMsdOptions { TrainingCases = 2, TestCases = 1, Size = new(10, 12, 14), Seed = 8 };
        using var a = new MsdTempTask(options);
        using var b = new MsdTempTask(options);
        Assert.True(File.Exists(Path.Combine(a.Folder, "dataset.json")));
        foreach (string file in new[] { "imagesTr/BRATS_001.nii.gz", "labelsTr/BRATS_002.nii.gz", "imagesTs/BRATS_003.nii.gz" })
            Assert.Equal(NiftiFile.Read(Path.Combine(a.Folder, file)).Data.Cast<object>(), NiftiFile.Read(Path.Combine(b.Folder, file)).Data.Cast<object>());
        Assert.False(File.Exists(Path.Combine(a.Folder, "labelsTr", "BRATS_003.nii.gz")));
        using var c = new MsdTempTask(options with { Seed = 9 });
        Assert.NotEqual(NiftiFile.Read(Path.Combine(a.Folder, "imagesTr/BRATS_001.nii.gz")).GetData<float>(), NiftiFile.Read(Path.Combine(c.Folder, "imagesTr/BRATS_001.nii.gz")).GetData<float>());
    }

    [Fact]
    public void MriCase_HasNestedTumourInsideANonZeroBrain_WithModalitiesThatTellRegionsApart()
    {
        using var temp = new MsdTempTask(new SyntheticMsdOptions { TrainingCases = 1, TestCases = 0, Seed = 2 });
        var data = MsdCaseReader.Read(temp.Task, temp.Task.Training[0]);
        var labels = data.Labels!.Data;
        int n = data.Image.Shape.Voxels;
        var counts = new int[4];
        foreach (byte v in labels) counts[v]++;
        Assert.All(counts, count => Assert.True(count > 20, $"class counts {string.Join("/", counts)}"));
        Assert.True(counts[1] > counts[3], "the edema surrounds the smaller core");
        var flair = data.Image.Channel(0).ToArray();
        var t1gd = data.Image.Channel(2).ToArray();
        // Background is exactly zero, the brain (and the tumour inside it) positive in every modality.
        int brain = 0;
        for (int i = 0; i < n; i++)
        {
            bool positive = flair[i] > 0;
            Assert.Equal(positive, data.Image.Channel(1)[i] > 0);
            if (labels[i] > 0) Assert.True(positive);
            if (positive) brain++;
        }
        Assert.True(brain < n * 0.6 && brain > counts[1] + counts[2] + counts[3]);
        double Mean(float[] channel, int label) => Enumerable.Range(0, n).Where(i => labels[i] == label && channel[i] > 0).Average(i => channel[i]);
        Assert.True(Mean(flair, 1) > Mean(flair, 0) + 200, "edema is bright on FLAIR");
        Assert.True(Mean(t1gd, 3) > Mean(t1gd, 2) + 300, "the enhancing core is bright on t1gd");
    }

    [Fact]
    public void AnisotropicSpacing_IsWrittenToTheHeaders()
    {
        using var temp = new MsdTempTask(new SyntheticMsdOptions { TrainingCases = 1, TestCases = 0, Size = new(12, 32, 32), Spacing = SyntheticMsdOptions.AnisotropicSpacing });
        var header = NiftiFile.ReadHeader(temp.Task.Training[0].ImagePath);
        Assert.Equal(0.8, header.PixDim[1], 6);
        Assert.Equal(2.5, header.PixDim[3], 6);
        Assert.Equal([2.5, 0.8, 0.8], MsdCaseReader.ReadSpacing(temp.Task.Training[0].ImagePath).Select(v => Math.Round(v, 6)));
        Assert.Equal(2.5, header.GetAffine()[2, 2], 6);
    }

    [Fact]
    public void CtVariant_IsOneModalityCt_WithAirAroundTheBody()
    {
        using var temp = new MsdTempTask(new SyntheticMsdOptions { TrainingCases = 1, TestCases = 0, Size = new(20, 20, 20), Ct = true });
        Assert.True(temp.Task.IsCt);
        Assert.Equal(["background", "liver", "cancer"], temp.Task.Labels);
        var data = MsdCaseReader.Read(temp.Task, temp.Task.Training[0]);
        Assert.Equal(1, data.Image.Channels);
        Assert.True(data.Image.Data.Min() < -900);
        Assert.Equal([0, 1, 2], data.Labels!.Data.Distinct().Order().Select(v => (int)v));
    }

    [Fact]
    public void Options_AreValidatedAllAtOnce()
    {
        var e = Assert.Throws<OptionsValidationException>(() => new SyntheticMsdOptions { TrainingCases = 0, Size = new(4, 48, 48), SpacingJitter = 1 }.Validate());
        Assert.Equal(3, e.Problems.Count);
    }
}
