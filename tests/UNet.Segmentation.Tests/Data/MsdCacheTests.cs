using UNet.Segmentation.Data.Msd;
using UNet.Segmentation.Imaging.Nifti;

namespace UNet.Segmentation.Tests.Data;

public sealed class MsdCacheTests : IDisposable
{
    private readonly MsdTempTask _task = new(new SyntheticMsdOptions { TrainingCases = 3, TestCases = 0, Size = new(16, 18, 20), Seed = 5 });
    private readonly MsdPreprocessingOptions _options = new() { PatchSize = new Shape3D(16, 16, 16) };

    public void Dispose() => _task.Dispose();

    private string Cache => Path.Combine(_task.Root, "cache");

    private MsdPreparedData Prepare(MsdPreprocessingOptions? options = null) =>
        MsdCache.Prepare(_task.Task, Cache, options ?? _options, TestContext.Current.CancellationToken);

    [Fact]
    public void FirstPrepare_BuildsEveryCase_InIdOrder_WithItsFiles()
    {
        var data = Prepare();
        Assert.Equal(["BRATS_001", "BRATS_002", "BRATS_003"], data.Cases.Select(c => c.Id));
        Assert.All(data.Cases, c => Assert.False(c.Reused));
        Assert.True(File.Exists(Path.Combine(Cache, "plan.json")));
        foreach (var c in data.Cases)
        {
            var (image, labels) = c.Load();
            Assert.Equal(4, image.Channels);
            Assert.Equal(c.Properties.Shape, image.Shape);
            Assert.Equal(c.Properties.Classes, labels.Data.Distinct().Order().Select(v => (int)v));
            // The cached volume is a NIfTI file carrying the target spacing.
            var header = NiftiFile.ReadHeader(c.ImagePath);
            Assert.Equal(data.Plan.TargetSpacing[0], header.PixDim[3], 6);
        }
    }

    [Fact]
    public void CachedCase_IsWhatThePreprocessorComputes()
    {
        var data = Prepare();
        var item = _task.Task.TrainingById()[1];
        var expected = MsdPreprocessor.Preprocess(MsdCaseReader.Read(_task.Task, item), data.Plan);
        var (image, labels) = data.Cases[1].Load();
        Assert.Equal(expected.Image.Data, image.Data);
        Assert.Equal(expected.Labels!.Data, labels.Data);
        Assert.Equal(expected.Properties.CropBox, data.Cases[1].Properties.CropBox);
    }

    [Fact]
    public void SecondPrepare_ReusesEveryCase_WithoutRewritingThem()
    {
        Prepare();
        var written = Directory.GetFiles(Cache).ToDictionary(f => f, File.GetLastWriteTimeUtc);
        var again = Prepare();
        Assert.All(again.Cases, c => Assert.True(c.Reused));
        Assert.All(written, kv => Assert.Equal(kv.Value, File.GetLastWriteTimeUtc(kv.Key)));
    }

    [Fact]
    public void ChangingOneCasesImage_RebuildsThatCaseOnly()
    {
        Prepare();
        var item = _task.Task.Training[1];
        var image = NiftiFile.Read(item.ImagePath);
        var data = image.GetData<float>();
        for (int i = 0; i < data.Length; i++)
            if (data[i] > 0) data[i] += 1; // same spacing, so the plan's target stays
        NiftiFile.Write(item.ImagePath, image);
        var again = Prepare();
        Assert.Equal([true, false, true], again.Cases.Select(c => c.Reused));
    }

    [Fact]
    public void ChangingThePatchSize_RebuildsEveryCase()
    {
        Prepare();
        var again = Prepare(_options with { PatchSize = new Shape3D(24, 24, 24) });
        Assert.All(again.Cases, c => Assert.False(c.Reused));
        Assert.All(again.Cases, c => Assert.True(c.Properties.Shape.Depth >= 24));
    }

    [Fact]
    public void DamagedOrMissingEntries_AreRebuilt()
    {
        var first = Prepare();
        File.WriteAllText(Path.Combine(Cache, "BRATS_001.json"), "{ not json");
        File.Delete(first.Cases[2].LabelPath);
        var again = Prepare();
        Assert.Equal([false, true, false], again.Cases.Select(c => c.Reused));
        Assert.True(File.Exists(again.Cases[2].LabelPath));
    }

    [Fact]
    public void LoadingATruncatedCachedVolume_NamesTheFile()
    {
        var data = Prepare();
        byte[] bytes = File.ReadAllBytes(data.Cases[0].ImagePath);
        File.WriteAllBytes(data.Cases[0].ImagePath, bytes[..400]);
        var e = Assert.Throws<MsdDataException>(() => data.Cases[0].Load());
        Assert.Equal(data.Cases[0].ImagePath, e.FilePath);
    }

    [Fact]
    public void ACorruptInput_IsReportedNamingIt()
    {
        var item = _task.Task.Training[2];
        File.WriteAllBytes(item.LabelPath!, [1, 2, 3, 4, 5]);
        var e = Assert.Throws<MsdDataException>(() => Prepare());
        Assert.Equal(item.LabelPath, e.FilePath);
    }
}
