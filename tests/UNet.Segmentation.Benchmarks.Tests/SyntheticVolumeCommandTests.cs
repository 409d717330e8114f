using UNet.Segmentation.Benchmarks.Volumes;
using UNet.Segmentation.Data;
using UNet.Segmentation.Imaging;

namespace UNet.Segmentation.Benchmarks.Tests;

/// <summary>The synthetic-volume command: the stack it writes page by page, and its refusals.</summary>
public sealed class SyntheticVolumeCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("synthetic-volume-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void ItWritesEveryPage_AsTheGeneratorMakesItFromItsSeed()
    {
        string file = Path.Combine(_dir, "v.tif");
        Assert.Equal(0, SyntheticVolumeCommand.Run(["--pages", "3", "--size", "96", "--seed", "5", "--out", file]));
        var volume = Tiff.Read(file);
        Assert.Equal((3, 96, 96), (volume.PageCount, volume.Height, volume.Width));
        var pixels = volume.GetUInt8().ToArray();
        for (int p = 0; p < 3; p++)
        {
            var (expected, _) = SyntheticEm.Generate(new SyntheticEmOptions { Slices = 1, Size = 96, Seed = 5 + p });
            Assert.Equal(expected, pixels.AsSpan(p * 96 * 96, 96 * 96).ToArray());
        }
    }

    [Theory]
    [InlineData("--pages", "3")]                          // no --out
    [InlineData("--out", "OUT", "--pages", "0")]        // no page
    [InlineData("--out", "OUT", "--size", "8")]         // smaller than the generator's cells
    [InlineData("--out", "OUT", "--frames", "3")]       // unknown argument
    public void BadArguments_Exit2_AndWriteNothing(params string[] args)
    {
        string file = Path.Combine(_dir, "x.tif");
        Assert.Equal(2, SyntheticVolumeCommand.Run(args.Select(a => a == "OUT" ? file : a).ToArray()));
        Assert.False(File.Exists(file));
    }
}
