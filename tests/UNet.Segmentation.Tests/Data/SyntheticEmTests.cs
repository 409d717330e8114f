using UNet.Segmentation.Data;

namespace UNet.Segmentation.Tests.Data;

public class SyntheticEmTests(ITestOutputHelper output)
{
    private static readonly SyntheticEmOptions Small = new() { Slices = 4, Size = 128 };

    [Fact]
    public void Generate_ReturnsSlicesTimesSizeSquaredBytes_PageMajor()
    {
        var (images, labels) = SyntheticEm.Generate(Small with { Slices = 3, Size = 96 });
        Assert.Equal(3 * 96 * 96, images.Length);
        Assert.Equal(images.Length, labels.Length);
    }

    [Fact]
    public void Defaults_AreIsbiShaped_30SlicesOf512()
    {
        var options = new SyntheticEmOptions();
        Assert.Equal((30, 512, 40.0, 2.0, 6.0, 0.08, 0), (options.Slices, options.Size, options.MeanCellDiameter,
            options.MembraneWidthMin, options.MembraneWidthMax, options.Noise, options.Seed));
        var (images, labels) = SyntheticEm.Generate(options);
        Assert.Equal(30 * 512 * 512, images.Length);
        Assert.Equal(30 * 512 * 512, labels.Length);
        double share = labels.Count(v => v == SyntheticEm.Membrane) / (double)labels.Length;
        output.WriteLine($"membrane share at defaults: {share:P2}");
        Assert.InRange(share, 0.12, 0.35);
    }

    [Fact]
    public void Labels_AreStrictlyBinary_0MembraneAnd255Interior()
    {
        var (_, labels) = SyntheticEm.Generate(Small);
        Assert.All(labels.Distinct(), v => Assert.True(v is 0 or 255, $"label value {v}"));
        Assert.Contains((byte)0, labels);
        Assert.Contains((byte)255, labels);
    }

    [Fact]
    public void MembraneShare_IsNearIsbis22Percent_InEverySlice()
    {
        var (_, labels) = SyntheticEm.Generate(Small with { Size = 256 });
        int page = 256 * 256;
        for (int s = 0; s < 4; s++)
        {
            double share = labels.AsSpan(s * page, page).Count(SyntheticEm.Membrane) / (double)page;
            output.WriteLine($"slice {s}: membrane {share:P2}");
            Assert.InRange(share, 0.12, 0.35);
        }
    }

    [Fact]
    public void Membranes_AreDarkerThanInteriors()
    {
        var (images, labels) = SyntheticEm.Generate(Small);
        double membrane = Mean(images, labels, SyntheticEm.Membrane), interior = Mean(images, labels, SyntheticEm.Interior);
        output.WriteLine($"mean grey: membrane {membrane:F1}, interior {interior:F1}");
        Assert.True(membrane + 30 < interior, $"membrane mean {membrane:F1} is not clearly darker than interior mean {interior:F1}");
    }

    [Fact]
    public void Images_UseMuchOfTheGreyRange_WithNoise()
    {
        var (images, _) = SyntheticEm.Generate(Small);
        double mean = images.Average(v => (double)v);
        double std = Math.Sqrt(images.Average(v => (v - mean) * (v - mean)));
        output.WriteLine($"grey mean {mean:F1}, std {std:F1}");
        Assert.InRange(mean, 90, 170);
        Assert.InRange(std, 20, 80);
        var (quiet, _) = SyntheticEm.Generate(Small with { Noise = 0 });
        Assert.NotEqual(images, quiet);
    }

    [Fact]
    public void SameSeed_GivesTheSameBytes_AndDifferentSeedsDiffer()
    {
        var a = SyntheticEm.Generate(Small with { Seed = 5 });
        var b = SyntheticEm.Generate(Small with { Seed = 5 });
        var c = SyntheticEm.Generate(Small with { Seed = 6 });
        Assert.Equal(a.Images, b.Images);
        Assert.Equal(a.Labels, b.Labels);
        Assert.NotEqual(a.Images, c.Images);
        Assert.NotEqual(a.Labels, c.Labels);
    }

    [Fact]
    public void Slices_AreIndependentOfHowManyAreGenerated_AndDifferFromEachOther()
    {
        var four = SyntheticEm.Generate(Small);
        var two = SyntheticEm.Generate(Small with { Slices = 2 });
        int page = 128 * 128;
        Assert.True(two.Images.AsSpan().SequenceEqual(four.Images.AsSpan(0, 2 * page)));
        Assert.False(four.Labels.AsSpan(0, page).SequenceEqual(four.Labels.AsSpan(page, page)));
    }

    [Fact]
    public void LargerCells_GiveLessMembrane()
    {
        static double Share(double diameter) =>
            SyntheticEm.Generate(Small with { MeanCellDiameter = diameter }).Labels.Count(v => v == 0) / (4.0 * 128 * 128);
        Assert.True(Share(80) < Share(40));
        Assert.True(Share(40) < Share(20));
    }

    [Fact]
    public void TinyAndOddSizes_Work()
    {
        foreach (var options in new[] { Small with { Slices = 1, Size = 1 }, Small with { Slices = 2, Size = 7, MeanCellDiameter = 2, MembraneWidthMin = 0.5, MembraneWidthMax = 1 } })
        {
            var (images, labels) = SyntheticEm.Generate(options);
            Assert.Equal(options.Slices * options.Size * options.Size, images.Length);
            Assert.All(labels, v => Assert.True(v is 0 or 255));
        }
    }

    [Theory]
    [InlineData(nameof(SyntheticEmOptions.Slices))]
    [InlineData(nameof(SyntheticEmOptions.Size))]
    [InlineData(nameof(SyntheticEmOptions.MeanCellDiameter))]
    [InlineData(nameof(SyntheticEmOptions.MembraneWidthMin))]
    [InlineData(nameof(SyntheticEmOptions.MembraneWidthMax))]
    [InlineData(nameof(SyntheticEmOptions.Noise))]
    public void BadOptions_AreRejected_NamingTheOption(string option)
    {
        SyntheticEmOptions[] bad = option switch
        {
            nameof(SyntheticEmOptions.Slices) => [Small with { Slices = 0 }, Small with { Slices = -3 }],
            nameof(SyntheticEmOptions.Size) => [Small with { Size = 0 }, Small with { Slices = 100_000, Size = 10_000 }],
            nameof(SyntheticEmOptions.MeanCellDiameter) => [Small with { MeanCellDiameter = 0 }, Small with { MeanCellDiameter = double.NaN }, Small with { MeanCellDiameter = double.PositiveInfinity }],
            nameof(SyntheticEmOptions.MembraneWidthMin) => [Small with { MembraneWidthMin = 0 }, Small with { MembraneWidthMin = -1 }, Small with { MembraneWidthMin = double.NaN }],
            nameof(SyntheticEmOptions.MembraneWidthMax) => [Small with { MembraneWidthMax = 1 }, Small with { MembraneWidthMax = 40 }, Small with { MembraneWidthMax = double.PositiveInfinity }],
            _ => [Small with { Noise = -0.1 }, Small with { Noise = 1.5 }, Small with { Noise = double.NaN }],
        };
        foreach (var options in bad)
        {
            var e = Assert.ThrowsAny<ArgumentException>(() => SyntheticEm.Generate(options));
            Assert.Equal(option, e.ParamName);
        }
        Assert.Throws<ArgumentNullException>(() => SyntheticEm.Generate(null!));
    }

    private static double Mean(byte[] images, byte[] labels, byte label)
    {
        long sum = 0, count = 0;
        for (int i = 0; i < images.Length; i++)
            if (labels[i] == label)
            {
                sum += images[i];
                count++;
            }
        return (double)sum / count;
    }
}
