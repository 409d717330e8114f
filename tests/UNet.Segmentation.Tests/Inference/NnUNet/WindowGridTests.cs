using UNet.Segmentation.Inference;

namespace UNet.Segmentation.Tests.Inference.NnUNet;

/// <summary><see cref="WindowGrid"/> and the N-D <see cref="GaussianWeights"/>.</summary>
public class WindowGridTests
{
    [Theory]
    [InlineData(20, 8, 0.25, new[] { 0, 6, 12 })] // step ⌊8·0.75⌋ = 6, ⌈12/6⌉ + 1 = 3 windows
    [InlineData(20, 8, 0.5, new[] { 0, 4, 8, 12 })] // step 4, 3 + 1
    [InlineData(21, 8, 0.5, new[] { 0, 4, 8, 12, 13 })] // ⌈13/4⌉ + 1 = 5, the last moved back to end at 21
    [InlineData(8, 8, 0.5, new[] { 0 })]
    [InlineData(5, 8, 0.5, new[] { 0 })]
    public void Starts_FollowMonaisRule(int size, int window, double overlap, int[] expected) =>
        Assert.Equal(expected, WindowGrid.Starts(size, window, overlap));

    [Fact]
    public void AllStarts_CoverEveryVoxel()
    {
        int[] sizes = [9, 30, 17], window = [4, 8, 8];
        var covered = new bool[9, 30, 17];
        foreach (var s in WindowGrid.AllStarts(sizes, window, 0.25))
            for (int z = 0; z < 4; z++)
                for (int y = 0; y < 8; y++)
                    for (int x = 0; x < 8; x++)
                        covered[s[0] + z, s[1] + y, s[2] + x] = true;
        Assert.All(covered.Cast<bool>(), Assert.True);
    }

    [Fact]
    public void Gaussian3D_IsSymmetricAndPeakedAtTheCentre()
    {
        int d = 6, h = 8, w = 5;
        var map = GaussianWeights.Create([d, h, w]);
        float At(int z, int y, int x) => map[(z * h + y) * w + x];
        Assert.Equal(1f, map.Max());
        for (int z = 0; z < d; z++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                {
                    Assert.Equal(At(z, y, x), At(d - 1 - z, y, x));
                    Assert.Equal(At(z, y, x), At(z, h - 1 - y, x));
                    Assert.Equal(At(z, y, x), At(z, y, w - 1 - x));
                }
        Assert.Equal(1f, At(2, 3, 2), 6); // w odd: x = 2 is the centre; z, y between two centre voxels
        Assert.True(At(2, 3, 2) > At(1, 3, 2) && At(1, 3, 2) > At(0, 3, 2));
        Assert.True(At(0, 0, 0) >= GaussianWeights.MinimumWeight);
    }
}
