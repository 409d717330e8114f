using UNet.Segmentation.Imaging;
using UNet.Segmentation.Model;
using static TorchSharp.torch;

namespace UNet.Segmentation.Cli.Tests;

/// <summary><c>unet predict</c>: either engine on a volume or an image, the same probabilities from both, and one error line for bad input.</summary>
public sealed class PredictCommandTests : IDisposable
{
    private static readonly UNetOptions Small = UNetOptions.Reference with { BaseFilters = 4, Depth = 2, InputSize = 44, Initialization = WeightInit.PyTorchDefault };
    private readonly string _dir = Directory.CreateTempSubdirectory("cli-predict-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private (string Checkpoint, string Onnx, string Volume) Prepare()
    {
        manual_seed(6);
        using (var model = new UNetModel(Small)) model.Save(Path.Combine(_dir, "model.safetensors"));
        var (code, output) = CliProcess.Run("export", "--checkpoint", Path.Combine(_dir, "model.safetensors"), "--onnx", Path.Combine(_dir, "model.onnx"));
        Assert.True(code == 0, output);
        var pages = new byte[2 * 30 * 37];
        new Random(3).NextBytes(pages);
        string volume = Path.Combine(_dir, "volume.tif");
        Tiff.Write(volume, new TiffVolume(2, 30, 37, pages));
        return (Path.Combine(_dir, "model.safetensors"), Path.Combine(_dir, "model.onnx"), volume);
    }

    [Theory]
    [InlineData("")]
    [InlineData("--tiled --tta")]
    public void BothEngines_WriteTheSameProbabilities(string flags)
    {
        string[] options = flags.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var (checkpoint, onnx, volume) = Prepare();
        var (c1, o1) = CliProcess.Run(["predict", "--onnx", onnx, "--input", volume, "--output-dir", Path.Combine(_dir, "ort"), "--threads", "1", .. options]);
        Assert.True(c1 == 0, o1);
        Assert.Contains("engine: ONNX Runtime", o1);
        var (c2, o2) = CliProcess.Run(["predict", "--checkpoint", checkpoint, "--input", volume, "--output-dir", Path.Combine(_dir, "torch"), .. options]);
        Assert.True(c2 == 0, o2);
        Assert.Contains("engine: TorchSharp", o2);
        var ort = Tiff.Read(Path.Combine(_dir, "ort", "volume-probabilities.tif"));
        var torch = Tiff.Read(Path.Combine(_dir, "torch", "volume-probabilities.tif"));
        Assert.Equal((2, 30, 37), (ort.PageCount, ort.Height, ort.Width));
        Assert.True(ort.GetFloat32().Zip(torch.GetFloat32(), (a, b) => Math.Abs(a - b)).Max() <= 1e-4);
        Assert.True(File.Exists(Path.Combine(_dir, "ort", "volume-masks.tif")));
        Assert.Equal(2, Directory.GetFiles(Path.Combine(_dir, "ort", "overlays")).Length);
    }

    [Fact]
    public void AFolderOfImages_GivesMasksAndProbabilitiesPerImage()
    {
        var (_, onnx, _) = Prepare();
        string images = Directory.CreateDirectory(Path.Combine(_dir, "images")).FullName;
        Png.WriteGray(Path.Combine(images, "a.png"), new byte[20 * 25], 25, 20);
        Png.WriteGray(Path.Combine(images, "b.png"), Enumerable.Range(0, 400).Select(v => (byte)v).ToArray(), 20, 20);
        var (code, output) = CliProcess.Run("predict", "--onnx", onnx, "--input", images, "--output-dir", Path.Combine(_dir, "out"), "--tiled");
        Assert.True(code == 0, output);
        Assert.Contains("predicted 2 file(s)", output);
        foreach (string stem in new[] { "a", "b" })
            foreach (string suffix in new[] { "-mask.png", "-overlay.png", "-probabilities.tif" })
                Assert.True(File.Exists(Path.Combine(_dir, "out", stem + suffix)), stem + suffix);
    }

    [Fact]
    public void BadInput_IsOneErrorLine()
    {
        var (checkpoint, onnx, volume) = Prepare();
        string noise = Path.Combine(_dir, "noise.onnx");
        File.WriteAllBytes(noise, Enumerable.Range(0, 999).Select(v => (byte)(v * 7)).ToArray());
        string[][] cases =
        [
            ["predict", "--onnx", noise, "--input", volume, "--output-dir", _dir],
            ["predict", "--onnx", onnx, "--checkpoint", checkpoint, "--input", volume, "--output-dir", _dir],
            ["predict", "--onnx", onnx, "--input", Path.Combine(_dir, "missing.tif"), "--output-dir", _dir],
            ["predict", "--onnx", onnx, "--input", volume, "--output-dir", _dir, "--tiled", "--overlap", "1"],
            ["predict", "--onnx", Path.Combine(_dir, "missing.onnx"), "--input", volume, "--output-dir", _dir],
            ["predict", "--onnx", onnx, "--input", volume, "--output-dir", _dir, "--min-segment-pixels", "0"],
        ];
        string[] expected =
        [
            "noise.onnx", "give one of --onnx FILE and --checkpoint FILE", "missing.tif", "--overlap", "missing.onnx",
            "--min-segment-pixels must be at least 1 (got 0)",
        ];
        for (int i = 0; i < cases.Length; i++)
        {
            var (code, stdout, stderr) = CliProcess.RunSplit(null, cases[i]);
            Assert.Equal(2, code);
            string line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            Assert.StartsWith("error: ", line);
            Assert.Contains(expected[i], line);
        }
    }
}
