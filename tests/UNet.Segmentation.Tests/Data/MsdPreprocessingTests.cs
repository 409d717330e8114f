using UNet.Segmentation.Data.Msd;

namespace UNet.Segmentation.Tests.Data;

public sealed class MsdPreprocessingTests
{
    private static Volume<float> Ramp(int channels, Shape3D s, Func<int, int, int, int, double> f)
    {
        var v = Volume<float>.Zeros(channels, s);
        int i = 0;
        for (int c = 0; c < channels; c++)
            for (int z = 0; z < s.Depth; z++)
                for (int y = 0; y < s.Height; y++)
                    for (int x = 0; x < s.Width; x++)
                        v.Data[i++] = (float)f(c, z, y, x);
        return v;
    }

    [Fact]
    public void PositiveBox_IsTheBoxOfVoxelsAboveZeroInAnyChannel()
    {
        var s = new Shape3D(6, 7, 8);
        var v = Volume<float>.Zeros(2, s);
        v.Data[((0 * 6 + 1) * 7 + 2) * 8 + 3] = 5;      // channel 0 at (1, 2, 3)
        v.Data[((1 * 6 + 4) * 7 + 5) * 8 + 6] = 1;      // channel 1 at (4, 5, 6)
        v.Data[((1 * 6 + 5) * 7 + 6) * 8 + 7] = -3;     // negative: not counted
        Assert.Equal(new Box3D(1, 2, 3, 5, 6, 7), MsdPreprocessing.PositiveBox(v));
    }

    [Fact]
    public void PositiveBox_OfAnImageWithoutPositiveVoxels_Throws() =>
        Assert.Throws<ArgumentException>(() => MsdPreprocessing.PositiveBox(Volume<float>.Zeros(1, new Shape3D(2, 2, 2))));

    [Fact]
    public void Crop_KeepsTheBoxOfEveryChannel()
    {
        var v = Ramp(2, new Shape3D(5, 6, 7), (c, z, y, x) => c * 1000 + z * 100 + y * 10 + x);
        var cropped = MsdPreprocessing.Crop(v, new Box3D(1, 2, 3, 4, 5, 7));
        Assert.Equal(new Shape3D(3, 3, 4), cropped.Shape);
        Assert.Equal(1000 + 3 * 100 + 4 * 10 + 6, cropped[1, 2, 2, 3]);
        Assert.Equal(1 * 100 + 2 * 10 + 3, cropped[0, 0, 0, 0]);
    }

    [Fact]
    public void ResampleImage_ToTheSameShape_IsTheIdentity()
    {
        var v = Ramp(1, new Shape3D(4, 5, 6), (_, z, y, x) => Math.Sin(z + 2 * y + 3 * x));
        Assert.Equal(v.Data, MsdPreprocessing.ResampleImage(v, v.Shape).Data);
    }

    [Fact]
    public void ResampleImage_ReproducesALinearFunctionAwayFromTheBorder()
    {
        // Trilinear interpolation is exact for a function linear in the voxel index; samples
        // land at s = (j + ½)·n/m − ½, so the value there is a + b·s.
        var s = new Shape3D(10, 12, 14);
        var v = Ramp(1, s, (_, z, y, x) => 1 + 0.5 * z - 0.25 * y + 0.125 * x);
        var target = new Shape3D(15, 8, 21);
        var r = MsdPreprocessing.ResampleImage(v, target);
        static double At(int j, int n, int m) => Math.Clamp((j + 0.5) * n / m - 0.5, 0, n - 1);
        for (int z = 0; z < target.Depth; z++)
            for (int y = 0; y < target.Height; y++)
                for (int x = 0; x < target.Width; x++)
                {
                    double expected = 1 + 0.5 * At(z, 10, 15) - 0.25 * At(y, 12, 8) + 0.125 * At(x, 14, 21);
                    Assert.Equal(expected, r[0, z, y, x], 4);
                }
    }

    [Fact]
    public void ResampleImage_AlongTheCoarseAxis_TakesWholeSlices()
    {
        var v = Ramp(1, new Shape3D(4, 6, 6), (_, z, _, _) => 10 * z);
        var r = MsdPreprocessing.ResampleImage(v, new Shape3D(10, 6, 6), coarseAxis: 0);
        var slices = Enumerable.Range(0, 10).Select(z => r[0, z, 3, 3]).ToArray();
        Assert.All(slices, value => Assert.Contains(value, new float[] { 0, 10, 20, 30 }));
        Assert.Equal([0f, 0f, 10f, 10f, 10f, 20f, 20f, 30f, 30f, 30f], slices); // ⌊(j + ½)·4/10⌋: 0, 0, 1, 1, 1, 2, 2, 3, 3, 3
    }

    [Fact]
    public void ResampleLabels_NeverInventsAClassAndKeepsTheNesting()
    {
        var s = new Shape3D(16, 16, 16);
        var labels = Volume<byte>.Zeros(1, s);
        for (int z = 0; z < 16; z++)
            for (int y = 0; y < 16; y++)
                for (int x = 0; x < 16; x++)
                {
                    double r = Math.Sqrt((z - 7.5) * (z - 7.5) + (y - 7.5) * (y - 7.5) + (x - 7.5) * (x - 7.5));
                    labels.Data[(z * 16 + y) * 16 + x] = (byte)(r < 3 ? 3 : r < 5 ? 2 : r < 7 ? 1 : 0);
                }
        foreach (var target in new[] { new Shape3D(11, 23, 9), new Shape3D(32, 32, 32), new Shape3D(7, 7, 7) })
        {
            var r = MsdPreprocessing.ResampleLabels(labels, target);
            Assert.Equal([0, 1, 2, 3], r.Data.Distinct().Order().Select(b => (int)b));
            // Nesting: along each ray from the centre, classes only go down.
            var c = (z: target.Depth / 2, y: target.Height / 2, x: target.Width / 2);
            int previous = 3;
            for (int x = c.x; x < target.Width; x++)
            {
                int v = r[0, c.z, c.y, x];
                Assert.True(v <= previous, $"{target}: class {v} after {previous} along x");
                previous = v;
            }
        }
    }

    [Fact]
    public void ResampleLabels_OfTwoHalves_MovesTheBoundaryWithTheGrid()
    {
        var labels = new Volume<byte>(Enumerable.Range(0, 8).Select(x => (byte)(x < 4 ? 1 : 2)).ToArray(), 1, new Shape3D(1, 1, 8));
        var r = MsdPreprocessing.ResampleLabels(labels, new Shape3D(1, 1, 16));
        Assert.Equal(Enumerable.Range(0, 16).Select(x => (byte)(x < 8 ? 1 : 2)), r.Data);
    }

    [Fact]
    public void NormalizeNonZero_ZScoresEachChannelOverItsNonZeroVoxels()
    {
        var v = new Volume<float>([0, 1, 2, 3, 0, 0, 10, 10, 10, 20], 2, new Shape3D(1, 1, 5));
        var n = MsdPreprocessing.NormalizeNonZero(v);
        double mean = 2, std = Math.Sqrt(2.0 / 3);
        Assert.Equal([0f, (float)((1 - mean) / std), 0f, (float)((3 - mean) / std), 0f], n.Data[..5]);
        Assert.Equal(0f, n.Data[5]);
        Assert.Equal(-0.5773503f, n.Data[6], 5); // (10 − 12.5) / √18.75
        Assert.Equal(1.7320508f, n.Data[9], 5);
    }

    [Fact]
    public void ClipAndNormalizeCt_ClipsThenZScoresEveryVoxel()
    {
        var v = new Volume<float>([-1000, 0, 50, 400], 1, new Shape3D(1, 1, 4));
        var n = MsdPreprocessing.ClipAndNormalizeCt(v, new CtStatistics(-20, 200, 60, 40));
        Assert.Equal([-2f, -1.5f, -0.25f, 3.5f], n.Data);
    }

    [Fact]
    public void PadTo_PadsShortAxesFloorBeforeCeilAfter()
    {
        var v = Ramp(1, new Shape3D(3, 6, 4), (_, z, y, x) => 1 + z + y + x);
        var (p, before) = MsdPreprocessing.PadTo(v, new Shape3D(6, 5, 7));
        Assert.Equal(new Shape3D(6, 6, 7), p.Shape);
        Assert.Equal([1, 0, 1], before);
        Assert.Equal(v[0, 0, 0, 0], p[0, 1, 0, 1]);
        Assert.Equal(0f, p[0, 0, 0, 1]);
        Assert.Equal(0f, p[0, 5, 5, 6]);
        Assert.Equal(v.Data.Sum(), p.Data.Sum());
    }

    [Fact]
    public void ResampledShape_TruncatesAsTheReference() =>
        Assert.Equal(new Shape3D(31, 60, 47), MsdPreprocessing.ResampledShape(new Shape3D(25, 48, 40), [2.5, 1.0, 0.95], [2.0, 0.8, 0.8]));

    [Fact]
    public void TargetSpacing_IsTheMedian_AndLowersTheFinestAxisWhenAnisotropic()
    {
        Assert.Equal([1.1, 1.0, 0.9], MsdPreprocessing.TargetSpacing([[1.0, 1.0, 0.9], [1.2, 1.0, 0.8], [1.1, 1.1, 1.0]]));
        // Median (3, 0.8, 0.8): anisotropic, so axis 1 (np.argmin) becomes its 10th percentile.
        double[] target = MsdPreprocessing.TargetSpacing([[3.0, 0.8, 0.8], [2.5, 0.7, 0.8], [3.5, 0.9, 0.8]]);
        Assert.Equal(3.0, target[0]);
        Assert.Equal(0.7 + 0.2 * 0.1, target[1], tolerance: 1e-12);
        Assert.Equal(0.8, target[2]);
    }

    [Fact]
    public void CoarseAxis_IsTheLargestSpacingOfTheAnisotropicSide()
    {
        Assert.Null(MsdPreprocessing.CoarseAxis([1, 1, 1], [1.2, 1, 1]));
        Assert.Equal(0, MsdPreprocessing.CoarseAxis([2.5, 0.8, 0.8], [1, 1, 1]));
        Assert.Equal(2, MsdPreprocessing.CoarseAxis([1, 1, 1], [1, 1, 4]));
    }

    [Fact]
    public void CtStatistics_PercentilesAreNumpysLinear()
    {
        var values = Enumerable.Range(0, 201).Select(i => (float)i).ToArray(); // 0 … 200
        var stats = CtStatistics.FromValues(values);
        Assert.Equal(1.0, stats.Min, tolerance: 1e-12);    // (200)·0.005
        Assert.Equal(199.0, stats.Max, tolerance: 1e-12);
        Assert.Equal(100.0, stats.Mean, tolerance: 1e-12);
        Assert.Equal(Math.Sqrt(values.Select(v => (v - 100.0) * (v - 100.0)).Sum() / 201), stats.Std, 9);
    }
}
