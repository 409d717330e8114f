using SkiaSharp;

namespace UNet.Segmentation.Cli.Tests;

/// <summary><c>unet plot</c>: the curves PNG, or one error line and exit code 2.</summary>
public sealed class PlotCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cli-plot-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void MetricsFile_BecomesAPngOfTheGivenSize()
    {
        string metrics = Path.Combine(_dir, "metrics.jsonl"), png = Path.Combine(_dir, "curves.png");
        File.WriteAllText(metrics, TrainingCurvesTests.Metrics);
        var (code, stdout, stderr) = CliProcess.RunSplit(null, "plot", "--metrics", metrics, "--output", png, "--width", "640", "--height", "480");
        Assert.True(code == 0, stderr);
        Assert.Equal(png, stdout.Trim());
        using var bitmap = SKBitmap.Decode(png);
        Assert.Equal((640, 480), (bitmap.Width, bitmap.Height));
    }

    [Fact]
    public void MissingOrBadFile_IsOneErrorLine_ExitCode2()
    {
        string missing = Path.Combine(_dir, "missing.jsonl"), bad = Path.Combine(_dir, "bad.jsonl"), png = Path.Combine(_dir, "curves.png");
        File.WriteAllText(bad, "{\"kind\":\"train\"}\n");
        foreach (var (file, expected) in new[] { (missing, $"error: metrics file {missing} does not exist"), (bad, $"error: {bad}, line 1: the record has no step") })
        {
            var (code, stdout, stderr) = CliProcess.RunSplit(null, "plot", "--metrics", file, "--output", png);
            Assert.Equal(2, code);
            Assert.Equal("", stdout);
            Assert.Equal(expected, stderr.Trim());
        }
        Assert.False(File.Exists(png));
    }
}
