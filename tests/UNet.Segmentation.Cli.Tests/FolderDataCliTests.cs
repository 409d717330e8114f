using UNet.Segmentation.Imaging;

namespace UNet.Segmentation.Cli.Tests;

/// <summary>The CLI on your own data: a 3-class PNG folder trains, evaluates and predicts; bad masks are one line.</summary>
public sealed class FolderDataCliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("unet-cli-folder-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private void WriteFolder(string dir, int classes, int items, byte? strayValue = null)
    {
        foreach (var sub in new[] { "images", "masks", "test" }) Directory.CreateDirectory(Path.Combine(dir, sub));
        for (int i = 0; i < items + 1; i++)
        {
            int h = 80 + 10 * i, w = 100;
            var mask = new byte[h * w];
            var image = new byte[h * w];
            for (int p = 0; p < mask.Length; p++)
            {
                int k = (p / w / 9 + p % w / 13 + i) % classes;
                mask[p] = (byte)k;
                image[p] = (byte)(40 + 80 * k + p % 7);
            }
            if (i == items)
            {
                Png.WriteGray(Path.Combine(dir, "test", "unseen.png"), image, w, h);
                break;
            }
            if (strayValue is { } v && i == 1) mask[5 * w + 3] = v;
            Png.WriteGray(Path.Combine(dir, "images", $"cells-{i}.png"), image, w, h);
            Png.WriteGray(Path.Combine(dir, "masks", $"cells-{i}.png"), mask, w, h);
        }
    }

    private string[] Run(string mode, string data, int classes) =>
        ["--exec-mode", mode, "--data-dir", data, "--classes", classes.ToString(), "--filters", "4", "--batch-size", "2", "--max-steps", "6",
         "--log-every", "3", "--model-dir", Path.Combine(_dir, "model")];

    [Fact]
    public void AThreeClassPngFolderTrainsEvaluatesAndPredicts()
    {
        string data = Path.Combine(_dir, "data");
        WriteFolder(data, 3, items: 6);
        var (code, output) = CliProcess.Run(Run("train_and_evaluate", data, 3));
        Assert.True(code == 0, output);
        Assert.Contains("6 images (grey), 3 classes, 1 test images", output);
        Assert.Matches(@"hard Dice \d\.\d{4} \[\d\.\d{4}, \d\.\d{4}, \d\.\d{4}\]", output); // one Dice per class
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(_dir, "model", "checkpoints")));

        (code, output) = CliProcess.Run(Run("predict", data, 3));
        Assert.True(code == 0, output);
        string predictions = Path.Combine(_dir, "model", "predictions");
        var mask = ImageFiles.Read(Path.Combine(predictions, "unseen-mask.png"));
        Assert.Equal((100, 140, 1), (mask.Width, mask.Height, mask.Channels));
        Assert.All(mask.Samples, v => Assert.InRange((int)v, 0, 2));
        Assert.Equal(3, Tiff.Read(Path.Combine(predictions, "unseen-probabilities.tif")).PageCount);
        Assert.Equal(3, ImageFiles.Read(Path.Combine(predictions, "unseen-overlay.png")).Channels);
    }

    [Fact]
    public void AMaskValueOutsideTheClassesIsOneLineNamingTheFileAndValue()
    {
        string data = Path.Combine(_dir, "bad");
        WriteFolder(data, 3, items: 3, strayValue: 7);
        var (code, output) = CliProcess.Run(Run("train", data, 3));
        Assert.Equal(2, code);
        Assert.Equal($"error: {Path.Combine(data, "masks", "cells-1.png")}: has the value 7 at x=3, y=5, outside the 3 classes 0..2", output.Trim());
        (code, output) = CliProcess.Run(Run("train", data, 1));
        Assert.Equal(2, code);
        Assert.Equal("error: --classes must lie in 2..256 (got 1)", output.Trim());
    }

    [Fact]
    public void AFolderOfNeitherLayout_AndMoreClassesThanTheIsbiData_AreOneLineEach()
    {
        string empty = Directory.CreateDirectory(Path.Combine(_dir, "empty")).FullName;
        var (code, output) = CliProcess.Run(Run("train", empty, 2));
        Assert.Equal(2, code);
        Assert.Equal($"error: --data-dir {empty} holds neither images/ and masks/ (your own data) nor train-volume.tif and train-labels.tif (the ISBI layout)", output.Trim());
        (code, output) = CliProcess.Run("--exec-mode", "train", "--classes", "3", "--max-steps", "1", "--model-dir", Path.Combine(_dir, "model"));
        Assert.Equal(2, code);
        Assert.Equal("error: --classes 3: the ISBI data (and the synthetic default) has 2 classes; give a --data-dir with images/ and masks/ for more", output.Trim());
    }
}
