using TorchSharp;
using UNet.Segmentation.Data.Msd;
using UNet.Segmentation.Tests.Shared;
using static TorchSharp.torch;

namespace UNet.Segmentation.Tests.Data;

public sealed class MsdAugmentationTests
{
    /// <summary>Nested blocks of classes 0–3, and a 2-channel image: channel 0 the label itself, channel 1 a smooth ramp.</summary>
    private static (Tensor Image, Tensor Labels) Pair(int d = 12, int h = 14, int w = 16)
    {
        var labels = new long[d * h * w];
        var ramp = new float[d * h * w];
        int i = 0;
        for (int z = 0; z < d; z++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++, i++)
                {
                    int inside = Math.Min(Math.Min(z, d - 1 - z), Math.Min(Math.Min(y, h - 1 - y), Math.Min(x, w - 1 - x)));
                    labels[i] = Math.Min(3, inside / 2);
                    ramp[i] = 0.1f * z + 0.2f * y - 0.05f * x;
                }
        var l = tensor(labels, [1, d, h, w]);
        var image = cat([l.to_type(ScalarType.Float32), tensor(ramp, [1, d, h, w])], 0);
        return (image, l);
    }

    private static HashSet<long> Classes(Tensor labels) => labels.contiguous().data<long>().ToArray().ToHashSet();

    [Fact]
    public void MirroringTwice_IsTheIdentity_AndKeepsImageAndLabelsAligned()
    {
        using var scope = NewDisposeScope();
        var (image, labels) = Pair();
        foreach (var (z, y, x) in new[] { (true, false, false), (false, true, true), (true, true, true) })
        {
            var (i1, l1) = MsdAugmentation.Mirror(image, labels, z, y, x);
            Assert.True(i1[0].to_type(ScalarType.Int64).eq(l1[0]).all().item<bool>(), "the label channel of the image moves with the labels");
            var (i2, l2) = MsdAugmentation.Mirror(i1, l1, z, y, x);
            Assert.True(i2.eq(image).all().item<bool>());
            Assert.True(l2.eq(labels).all().item<bool>());
        }
        var (flipped, _) = MsdAugmentation.Mirror(image, labels, false, false, true);
        Assert.Equal(image[1, 3, 4, 0].item<float>(), flipped[1, 3, 4, 15].item<float>());
    }

    [Fact]
    public void Zoom_KeepsTheClassesAndTheAlignment()
    {
        using var scope = NewDisposeScope();
        var (image, labels) = Pair(24, 24, 24);
        foreach (double scale in new[] { 0.7, 0.85, 1.0 })
        {
            var (zi, zl) = MsdAugmentation.Zoom(image, labels, scale);
            Assert.Equal(labels.shape, zl.shape);
            Assert.Equal(image.shape, zi.shape);
            Assert.Subset(Classes(labels), Classes(zl)); // no invented class
            // The image's label channel, interpolated, stays within half a class of the labels but at boundaries.
            double misaligned = zi[0].sub(zl[0].to_type(ScalarType.Float32)).abs().gt(0.5).to_type(ScalarType.Float32).mean().item<float>();
            Assert.True(misaligned < 0.05, $"scale {scale}: {misaligned:P1} of voxels misaligned");
            if (scale == 1.0)
            {
                Assert.True(zl.eq(labels).all().item<bool>());
                Assert.True(zi.allclose(image, rtol: 0, atol: 1e-6));
            }
        }
    }

    [Fact]
    public void Zoom_TakesTheCentre()
    {
        using var scope = NewDisposeScope();
        var labels = arange(0, 10, ScalarType.Int64).reshape(1, 1, 1, 10).expand(1, 2, 2, 10).contiguous();
        var image = labels.to_type(ScalarType.Float32);
        var (_, zl) = MsdAugmentation.Zoom(image, labels, 0.6); // box of 6 from index 2: 2…7, stretched to 10
        Assert.Equal(new long[] { 2, 2, 3, 4, 4, 5, 5, 6, 7, 7 }, zl[0, 0, 0].data<long>().ToArray()); // 2 + ⌊(j + ½)·6/10⌋
    }

    [Fact]
    public void IntensityAugmentations_DoWhatTheyClaim()
    {
        using var scope = NewDisposeScope();
        var (image, _) = Pair();
        Assert.True(MsdAugmentation.Brightness(image, 1.25).allclose(image.mul(1.25)));
        var contrast = MsdAugmentation.Contrast(image, 1.5);
        Assert.Equal(image.min().item<float>(), contrast.min().item<float>());
        Assert.Equal(image.max().item<float>(), contrast.max().item<float>());
        var noisy = MsdAugmentation.Noise(image, 0.3, 42);
        double std = noisy.sub(image).std().item<float>();
        Assert.InRange(std, 0.27, 0.33);
        Assert.True(noisy.eq(MsdAugmentation.Noise(image, 0.3, 42)).all().item<bool>(), "the same seed, the same noise");
        // A blur keeps a constant image (the kernel sums to one) and the mean of a smooth one, and lowers the variance of noise.
        var constant = full([2, 8, 8, 8], 3.0f);
        Assert.True(MsdAugmentation.Blur(constant, 1.0).allclose(constant, rtol: 0, atol: 1e-5));
        var noisyConstant = MsdAugmentation.Noise(constant, 0.3, 7);
        var blurred = MsdAugmentation.Blur(noisyConstant, 1.0);
        Assert.Equal(noisyConstant.shape, blurred.shape);
        Assert.True(blurred.sub(constant).std().item<float>() < noisyConstant.sub(constant).std().item<float>() / 2);
    }

    [Fact]
    public void Apply_IsReproducibleFromTheSeed_AndLeavesNoTensors()
    {
        var (image, labels) = Pair();
        long baseline = LiveTensors.SettledCount();
        for (int seed = 0; seed < 20; seed++)
        {
            var (a, la) = MsdAugmentation.Apply(image, labels, MsdAugmentationOptions.Reference, new Random(seed));
            var (b, lb) = MsdAugmentation.Apply(image, labels, MsdAugmentationOptions.Reference, new Random(seed));
            Assert.True(a.eq(b).all().item<bool>());
            Assert.True(la.eq(lb).all().item<bool>());
            Assert.Equal(image.shape, a.shape);
            Assert.Subset(Classes(labels), Classes(la));
            foreach (var t in new[] { a, b, la, lb }) t.Dispose();
        }
        Assert.Equal(baseline, LiveTensors.SettledCount());
        image.Dispose();
        labels.Dispose();
    }

    [Fact]
    public void Draw_HappensWithTheReferenceProbabilities()
    {
        var random = new Random(9);
        var draws = Enumerable.Range(0, 4000).Select(_ => MsdAugmentation.Draw(MsdAugmentationOptions.Reference, random)).ToList();
        double se15 = Math.Sqrt(0.15 * 0.85 / draws.Count), se50 = Math.Sqrt(0.25 / draws.Count);
        Assert.InRange(draws.Count(d => d.Zoom is not null) / 4000.0, 0.15 - 4 * se15, 0.15 + 4 * se15);
        Assert.InRange(draws.Count(d => d.NoiseStd is not null) / 4000.0, 0.15 - 4 * se15, 0.15 + 4 * se15);
        Assert.InRange(draws.Count(d => d.Contrast is not null) / 4000.0, 0.15 - 4 * se15, 0.15 + 4 * se15);
        Assert.InRange(draws.Count(d => d.FlipY) / 4000.0, 0.5 - 4 * se50, 0.5 + 4 * se50);
        Assert.All(draws.Where(d => d.Zoom is not null), d => Assert.InRange(d.Zoom!.Value, 0.7, 1.0));
        Assert.All(draws.Where(d => d.Brightness is not null), d => Assert.InRange(d.Brightness!.Value, 0.7, 1.3));
        Assert.All(draws.Where(d => d.BlurSigma is not null), d => Assert.InRange(d.BlurSigma!.Value, 0.5, 1.5));
    }

    [Fact]
    public void TrainingBatches_AreReproducibleAndShaped()
    {
        using var temp = new MsdTempTask(new SyntheticMsdOptions { TrainingCases = 3, TestCases = 0, Size = new(24, 24, 24), Seed = 4 });
        var data = MsdCache.Prepare(temp.Task, Path.Combine(temp.Root, "cache"), new MsdPreprocessingOptions { PatchSize = new(16, 16, 16) }, TestContext.Current.CancellationToken);
        var split = MsdFolds.Split(0, data.Cases.Count, folds: 3);
        var cases = split.Training.Select(i => data.Cases[i].Load()).ToList();
        var batches = new MsdTrainingBatches(cases, new MsdPatchSampler(data.Plan.PatchSize), MsdAugmentationOptions.Reference, seed: 5);
        using var scope = NewDisposeScope();
        var (x, y) = batches.Batch(3, 2);
        Assert.Equal(new long[] { 2, 4, 16, 16, 16 }, x.shape);
        Assert.Equal(new long[] { 2, 1, 16, 16, 16 }, y.shape);
        Assert.Equal(ScalarType.Int64, y.dtype);
        var (x2, y2) = batches.Batch(3, 2);
        Assert.True(x.eq(x2).all().item<bool>());
        Assert.True(y.eq(y2).all().item<bool>());
    }
}
