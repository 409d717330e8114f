using System.Diagnostics;
using UNet.Segmentation.Imaging;
using UNet.Segmentation.Model;
using static TorchSharp.torch;

namespace UNet.Segmentation.Cli.Tests;

/// <summary><c>unet predict</c> on volumes streamed page by page: progress lines, killed and run again to the same bytes, a folder of slices.</summary>
public sealed class PredictLargeVolumeTests : IDisposable
{
    private static readonly UNetOptions Small = UNetOptions.Reference with { BaseFilters = 4, Depth = 2, InputSize = 44, Initialization = WeightInit.PyTorchDefault };
    private const int Pages = 10;
    private readonly string _dir = Directory.CreateTempSubdirectory("cli-large-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private (string Checkpoint, string Volume) Prepare()
    {
        manual_seed(6);
        string checkpoint = Path.Combine(_dir, "model.safetensors");
        using (var model = new UNetModel(Small)) model.Save(checkpoint);
        var pixels = new byte[Pages * 90 * 100];
        new Random(4).NextBytes(pixels);
        string volume = Path.Combine(_dir, "stack.tif");
        Tiff.Write(volume, new TiffVolume(Pages, 90, 100, pixels));
        return (checkpoint, volume);
    }

    private static string[] Predict(string checkpoint, string input, string output, params string[] more) =>
        ["predict", "--checkpoint", checkpoint, "--input", input, "--output-dir", output, "--tiled", "--threads", "1", .. more];

    [Fact]
    public void AVolumeKilledAtSeveralPoints_FinishesWithTheBytesOfAnUnbrokenRun()
    {
        var (checkpoint, volume) = Prepare();
        var (code, output) = CliProcess.Run(Predict(checkpoint, volume, Path.Combine(_dir, "whole")));
        Assert.True(code == 0, output);
        Assert.Contains($"page {Pages}/{Pages}", output);
        Assert.Contains("pages/s", output);

        string broken = Path.Combine(_dir, "broken");
        string progress = Path.Combine(broken, "stack-probabilities.tif.progress");
        foreach (int k in new[] { 1, 4, 7 })
        {
            // SIGKILL once the progress list holds k pages (a header and a signature line come first)
            int killedAt = KillWhen(Predict(checkpoint, volume, broken), () => File.Exists(progress) && File.ReadAllLines(progress).Length >= k + 2);
            Assert.InRange(killedAt, k, Pages - 1);
            Assert.False(File.Exists(Path.Combine(broken, "stack-probabilities.tif")));
        }
        (code, output) = CliProcess.Run(Predict(checkpoint, volume, broken));
        Assert.True(code == 0, output);
        Assert.Contains("kept from an earlier run", output);
        foreach (string name in new[] { "stack-probabilities.tif", "stack-masks.tif" })
            Assert.Equal(File.ReadAllBytes(Path.Combine(_dir, "whole", name)), File.ReadAllBytes(Path.Combine(broken, name)));
        Assert.Equal(Pages, Directory.GetFiles(Path.Combine(broken, "overlays"), "*.png").Length);
        Assert.Equal(
            Directory.GetFiles(Path.Combine(_dir, "whole")).Select(Path.GetFileName).Order(),
            Directory.GetFiles(broken).Select(Path.GetFileName).Order());
    }

    /// <summary>Starts unet, kills it (SIGKILL) when <paramref name="ready"/> holds, and returns the pages its progress list held then.</summary>
    private static int KillWhen(string[] args, Func<bool> ready)
    {
        using var p = CliProcess.StartUntil(null, null, args, ready);
        p.Kill(); // SIGKILL on Unix: no handler runs
        p.WaitForExit();
        string progress = args[Array.IndexOf(args, "--output-dir") + 1];
        return File.ReadAllLines(Path.Combine(progress, "stack-probabilities.tif.progress")).Length - 2;
    }

    [Fact]
    public void AFolderOfSlices_WithPages_GivesOnePairOfFilesPerSlice_AndBadInputIsOneLine()
    {
        var (checkpoint, volume) = Prepare();
        var stack = Tiff.Read(volume);
        string slices = Directory.CreateDirectory(Path.Combine(_dir, "slices")).FullName;
        for (int p = 0; p < 3; p++) Png.WriteGray(Path.Combine(slices, $"z{p + 1}.png"), stack.PageUInt8(p).ToArray(), 100, 90);
        var (code, output) = CliProcess.Run(Predict(checkpoint, slices, Path.Combine(_dir, "out"), "--pages"));
        Assert.True(code == 0, output);
        Assert.Contains("page 3/3", output);
        foreach (string name in new[] { "z1", "z2", "z3" })
        {
            Assert.Equal((1, 90, 100), Shape(Tiff.Read(Path.Combine(_dir, "out", $"{name}-probabilities.tif"))));
            Assert.Equal((1, 90, 100), Shape(Tiff.Read(Path.Combine(_dir, "out", $"{name}-mask.tif"))));
        }

        // a slice of another size after a first batch (4 pages by default): the batch before it is written
        for (int p = 3; p < 5; p++) Png.WriteGray(Path.Combine(slices, $"z{p + 1}.png"), stack.PageUInt8(p).ToArray(), 100, 90);
        Png.WriteGray(Path.Combine(slices, "z6.png"), new byte[10 * 10], 10, 10);
        var (bad, stdout, stderr) = CliProcess.RunSplit(null, Predict(checkpoint, slices, Path.Combine(_dir, "out2"), "--pages"));
        Assert.Equal(2, bad);
        Assert.Single(stderr.Trim().Split('\n'));
        Assert.Contains(Path.Combine(slices, "z6.png"), stderr);
        Assert.Contains("page 6", stderr);
        Assert.True(File.Exists(Path.Combine(_dir, "out2", "z4-mask.tif")), stdout);

        (bad, _, stderr) = CliProcess.RunSplit(null, Predict(checkpoint, slices, Path.Combine(slices, "out"), "--pages"));
        Assert.Equal(2, bad);
        Assert.Contains("inside the input folder", stderr);
    }

    private static (int, int, int) Shape(TiffVolume v) => (v.PageCount, v.Height, v.Width);
}
