using UNet.Segmentation.Data;
using UNet.Segmentation.Tests.Data;
using UNet.Segmentation.Tests.Imaging;
using UNet.Segmentation.Visualization;
using static TorchSharp.torch;

namespace UNet.Segmentation.Tests.Visualization;

public sealed class OverlaysTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("overlays-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void ImagesAndClasses_MapToTheFilesGreyLevels()
    {
        using var scope = NewDisposeScope();
        Assert.Equal(new byte[] { 0, 128, 255, 255 }, BatchPictures.ImageToGray(tensor(new[] { -1f, 0f, 1f, 3f }, new long[] { 2, 2 })));
        Assert.Equal(new byte[] { 0, 255, 255, 0 }, BatchPictures.ClassesToGray(tensor(new long[] { 0, 1, 1, 0 }, new long[] { 2, 2 })));
        // Non-contiguous inputs are read in row-major order of their shape.
        Assert.Equal(new byte[] { 0, 255, 128, 255 }, BatchPictures.ImageToGray(tensor(new[] { -1f, 0f, 1f, 3f }, new long[] { 2, 2 }).t()));
    }

    [Fact]
    public void Blend_TintsMembraneOnly()
    {
        var rgb = Overlays.Blend([100, 100], [0, 255]);
        var (r, g, b) = Overlays.MembraneColour;
        Assert.Equal(new byte[] { (byte)((100 + r) / 2), (byte)((100 + g) / 2), (byte)((100 + b) / 2), 100, 100, 100 }, rgb);
        Assert.Throws<ArgumentException>(() => Overlays.Blend([1, 2], [0]));
    }

    [Fact]
    public void WriteBatch_WritesPngsThatPillowDecodesAtTheRightSizes()
    {
        string data = Path.Combine(_dir, "data");
        Directory.CreateDirectory(data);
        IsbiDatasetTests.WriteFolder(data, pages: 2, size: 64);
        var options = DataOptions.Reference with { InputSize = 100, OutputSize = 60 };
        using var batch = IsbiDataset.Load(data).EvaluationBatches([1], 1, options).Single();
        var files = BatchPictures.WriteBatch(batch, Path.Combine(_dir, "png"), "plain");
        Assert.Equal(3, files.Count);
        ExternalTools.RequirePil();
        foreach (var (file, mode, size) in files.Zip(new[] { ("L", 100), ("L", 60), ("RGB", 60) }, (f, m) => (f, m.Item1, m.Item2)))
        {
            var result = ExternalTools.RunOk(ExternalTools.Python, "-c",
                "import sys; from PIL import Image; im = Image.open(sys.argv[1]); im.load(); print(im.mode, im.size[0], im.size[1])", file);
            Assert.Equal($"{mode} {size} {size}", result.Stdout.Trim());
        }
    }
}
