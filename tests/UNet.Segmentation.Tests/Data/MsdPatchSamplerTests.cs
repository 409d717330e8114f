using UNet.Segmentation.Data.Msd;

namespace UNet.Segmentation.Tests.Data;

public sealed class MsdPatchSamplerTests : IDisposable
{
    private readonly MsdTempTask _task = new(new SyntheticMsdOptions { TrainingCases = 2, TestCases = 0, Size = new(40, 44, 42), Seed = 21 });
    private readonly (Volume<float> Image, Volume<byte> Labels) _case;

    public MsdPatchSamplerTests()
    {
        var plan = MsdPlan.Create(_task.Task, new MsdPreprocessingOptions { PatchSize = new Shape3D(16, 16, 16) });
        var result = MsdPreprocessor.Preprocess(MsdCaseReader.Read(_task.Task, _task.Task.Training[0]), plan);
        _case = (result.Image, result.Labels!);
    }

    public void Dispose() => _task.Dispose();

    [Fact]
    public void ForegroundShare_IsTheProbability_WithinFourStandardErrors()
    {
        var sampler = new MsdPatchSampler(new Shape3D(8, 8, 8), 0.33);
        var index = ForegroundIndex.Of(_case.Labels);
        Assert.Equal([1, 2, 3], index.Classes);
        var random = new Random(1);
        const int draws = 2000;
        int centred = 0, uniformWithCore = 0;
        var classes = new int[4];
        for (int i = 0; i < draws; i++)
        {
            var (_, labels, draw) = sampler.Sample(_case.Image, _case.Labels, index, random);
            if (draw.ForegroundCentred)
            {
                centred++;
                classes[draw.Class]++;
                Assert.Contains((byte)draw.Class, labels.Data); // the chosen class is in the patch
            }
            else if (labels.Data.Contains((byte)3))
            {
                uniformWithCore++;
            }
        }
        double share = centred / (double)draws, se = Math.Sqrt(0.33 * 0.67 / draws);
        double uniformCore = uniformWithCore / (double)(draws - centred);
        TestContext.Current.SendDiagnosticMessage(
            $"foreground-centred share {share:F4} (expected 0.33 ± {se:F4}) over {draws} draws; classes 1/2/3: {classes[1]}/{classes[2]}/{classes[3]}; uniform patches holding class 3: {uniformCore:F3}");
        Assert.InRange(share, 0.33 - 4 * se, 0.33 + 4 * se);
        // Classes are drawn uniformly among those present: each about a third of the centred draws.
        double perClass = Math.Sqrt(centred * (1 / 3.0) * (2 / 3.0));
        for (int c = 1; c <= 3; c++) Assert.InRange(classes[c], centred / 3.0 - 4 * perClass, centred / 3.0 + 4 * perClass);
        // The small enhancing core is in every patch centred on it, in few uniform ones.
        Assert.True(uniformCore < 0.5, $"uniform patches hold class 3 {uniformCore:P0} of the time");
    }

    [Fact]
    public void Patches_StayInsideTheVolume()
    {
        var sampler = new MsdPatchSampler(new Shape3D(16, 16, 16), 0.5);
        var index = ForegroundIndex.Of(_case.Labels);
        var random = new Random(2);
        var s = _case.Labels.Shape;
        for (int i = 0; i < 500; i++)
        {
            var draw = sampler.Draw(index, random);
            for (int a = 0; a < 3; a++) Assert.InRange(draw.Start(a), 0, s[a] - 16);
        }
    }

    [Fact]
    public void Draws_AreReproducibleFromTheSeed()
    {
        var sampler = new MsdPatchSampler(new Shape3D(16, 16, 16));
        var index = ForegroundIndex.Of(_case.Labels);
        List<PatchDraw> Run(int seed)
        {
            var random = new Random(seed);
            return Enumerable.Range(0, 50).Select(_ => sampler.Draw(index, random)).ToList();
        }
        Assert.Equal(Run(7), Run(7));
        Assert.NotEqual(Run(7), Run(8));
    }

    [Fact]
    public void Extract_CopiesTheBox_AndPadsAVolumeSmallerThanThePatch()
    {
        var s = new Shape3D(4, 5, 6);
        var volume = new Volume<float>(Enumerable.Range(1, s.Voxels).Select(v => (float)v).ToArray(), 1, s);
        var sampler = new MsdPatchSampler(new Shape3D(8, 3, 6), 0);
        var labels = Volume<byte>.Zeros(1, s);
        var random = new Random(3);
        for (int i = 0; i < 20; i++)
        {
            var draw = sampler.Draw(ForegroundIndex.Of(labels), random);
            Assert.InRange(draw.StartZ, -4, 0); // the volume lies inside the patch along z
            Assert.InRange(draw.StartY, 0, 2);
            Assert.Equal(0, draw.StartX);
            var patch = sampler.Extract(volume, draw);
            for (int z = 0; z < 8; z++)
                for (int y = 0; y < 3; y++)
                    for (int x = 0; x < 6; x++)
                    {
                        int sz = draw.StartZ + z;
                        float expected = sz is >= 0 and < 4 ? volume[0, sz, draw.StartY + y, x] : 0;
                        Assert.Equal(expected, patch[0, z, y, x]);
                    }
        }
    }

    [Fact]
    public void ACaseWithoutForeground_GetsUniformPatches()
    {
        var sampler = new MsdPatchSampler(new Shape3D(4, 4, 4), 1.0);
        var index = ForegroundIndex.Of(Volume<byte>.Zeros(1, new Shape3D(8, 8, 8)));
        var random = new Random(4);
        Assert.All(Enumerable.Range(0, 20).Select(_ => sampler.Draw(index, random)), d => Assert.False(d.ForegroundCentred));
    }
}
