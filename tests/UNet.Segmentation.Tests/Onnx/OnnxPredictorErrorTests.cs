using UNet.Segmentation.Data;
using UNet.Segmentation.Export;
using UNet.Segmentation.Inference;
using UNet.Segmentation.Model;
using UNet.Segmentation.Onnx;
using static TorchSharp.torch;

namespace UNet.Segmentation.Tests.Onnx;

/// <summary>Files that are not our exports, damaged exports, wrong sizes and options: one typed exception that names the file or argument.</summary>
public sealed class OnnxPredictorErrorTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("onnx-errors-").FullName;
    private static readonly UNetOptions Small = UNetOptions.Reference with { BaseFilters = 4, Depth = 2, InputSize = 92 };

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Exported()
    {
        string path = Path.Combine(_dir, "small.onnx");
        manual_seed(1);
        using var model = new UNetModel(Small);
        OnnxExport.Save(model, path);
        return path;
    }

    [Fact]
    public void AFileThatIsNotOnnx_IsOneOnnxModelException_NamingIt()
    {
        string path = Path.Combine(_dir, "noise.onnx");
        var bytes = new byte[4096];
        new Random(1).NextBytes(bytes);
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<OnnxModelException>(() => OnnxPredictor.Load(path));
        Assert.Contains(path, e.Message);
        Assert.DoesNotContain("\n", e.Message);
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(0.97)]
    public void ATruncatedExport_IsOneOnnxModelException(double keep)
    {
        string path = Exported();
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(int)(bytes.Length * keep)]);
        var e = Assert.Throws<OnnxModelException>(() => OnnxPredictor.Load(path));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void AnOnnxModelThatIsNotOurs_IsRefusedByItsMetadata()
    {
        string path = Exported();
        // Rename our metadata keys in place (same length, so the protobuf stays valid): an ONNX model, not a U-Net export.
        var bytes = File.ReadAllBytes(path);
        Replace(bytes, "unet_onnx_format"u8, "xxxx_onnx_format"u8);
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<OnnxModelException>(() => OnnxPredictor.Load(path));
        Assert.Contains("not a U-Net exported by UNet.Segmentation", e.Message);
        Assert.Equal(path, e.Path);
    }

    private static void Replace(byte[] bytes, ReadOnlySpan<byte> from, ReadOnlySpan<byte> to)
    {
        int at = bytes.AsSpan().IndexOf(from);
        Assert.True(at >= 0, "the key is in the file");
        to.CopyTo(bytes.AsSpan(at));
    }

    [Fact]
    public void AMissingFile_IsFileNotFound_AndBadOptionsNameTheOption()
    {
        Assert.Throws<FileNotFoundException>(() => OnnxPredictor.Load(Path.Combine(_dir, "none.onnx")));
        var e = Assert.Throws<OptionsValidationException>(() => OnnxPredictor.Load(Exported(), new OnnxPredictorOptions { Threads = 0, TileOverlap = 1 }));
        Assert.Equal("TileOverlap", e.ParamName);
        Assert.Contains("Threads", e.Message);
    }

    [Fact]
    public void AWrongInputSize_IsOneLine_ListingTheNearestValidSizes()
    {
        using var predictor = OnnxPredictor.Load(Exported());
        var ok = predictor.RunNetwork(FloatImages.Zeros(2, 1, 92, 108));
        Assert.Equal("[2, 2, 52, 68]", ok.ToString());
        var e = Assert.Throws<ArgumentException>(() => predictor.RunNetwork(FloatImages.Zeros(1, 1, 90, 92)));
        Assert.Contains("input height 90 does not fit", e.Message);
        Assert.Contains("nearest valid sizes: 88, 92", e.Message); // depth 2, valid: sides ≡ 0 (mod 4)
        var channels = Assert.Throws<ArgumentException>(() => predictor.RunNetwork(FloatImages.Zeros(1, 3, 92, 92)));
        Assert.Contains("1 channel(s)", channels.Message);
    }

    [Fact]
    public void AnImageWithOtherChannels_IsADataFileException_NamingIt()
    {
        using var predictor = OnnxPredictor.Load(Exported());
        string png = Path.Combine(_dir, "colour.png");
        UNet.Segmentation.Imaging.Png.WriteRgb(png, new byte[20 * 20 * 3], 20, 20);
        var e = Assert.Throws<DataFileException>(() => predictor.PredictImageFile(png, Path.Combine(_dir, "out")));
        Assert.Contains(png, e.Message);
        Assert.False(Directory.Exists(Path.Combine(_dir, "out")), "nothing written for a refused image");
    }
}
