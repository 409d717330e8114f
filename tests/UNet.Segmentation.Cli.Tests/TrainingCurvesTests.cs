using SkiaSharp;
using UNet.Segmentation.Data;
using UNet.Segmentation.Model;
using UNet.Segmentation.Tests.Shared;
using UNet.Segmentation.Training;
using UNet.Segmentation.Training.Callbacks;
using static TorchSharp.torch;

namespace UNet.Segmentation.Cli.Tests;

/// <summary>
/// <see cref="TrainingCurves"/> (UNet.Segmentation.Plotting), here because this project resolves
/// SkiaSharp 3.119 through ScottPlot as the CLI does; the library's tests stay on SkiaSharp 2.88.9.
/// </summary>
public sealed class TrainingCurvesTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("curves-").FullName;
    private static readonly IsbiDataset Data = IsbiDataset.Synthetic(new SyntheticEmOptions { Slices = 6, Size = 64, MeanCellDiameter = 16, MembraneWidthMin = 1, MembraneWidthMax = 3 });
    private static readonly UNetOptions Tiny = UNetOptions.Reference with { BaseFilters = 4, Depth = 2, InputSize = 92 };
    private static readonly DataOptions TinyData = DataOptions.Reference with { InputSize = 92, OutputSize = 52 };
    private static readonly FoldSplit Fold = new(0, [0, 1, 2, 3], [4, 5]);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    internal const string Metrics = """
        {"kind":"train","time":"t","step":2,"loss":1.2,"dice":0.4,"learning_rate":0.001,"images_per_second":3,"loss_scale":1,"skipped":false}
        {"kind":"eval","time":"t","step":2,"metrics":{"hard_dice_per_class":[0.3,0.8],"hard_mean_dice":0.55,"mean_io_u":0.4,"pixel_accuracy":0.7,"cross_entropy":0.6,"soft_dice_loss":0.5,"samples":2,"pixels":100}}
        {"kind":"train","time":"t","step":4,"loss":1.0,"dice":0.5,"learning_rate":0.0009,"images_per_second":3,"loss_scale":1,"skipped":false}
        """;

    private string File(string name, string content)
    {
        string path = Path.Combine(_dir, name);
        System.IO.File.WriteAllText(path, content);
        return path;
    }

    private static (int Width, int Height) Decode(string png)
    {
        using var bitmap = SKBitmap.Decode(png);
        Assert.NotNull(bitmap);
        return (bitmap.Width, bitmap.Height);
    }

    [Fact]
    public void Plot_WritesAPngOfTheRequestedSize_AndNoTemporaryFile()
    {
        string png = Path.Combine(_dir, "out", "curves.png");
        TrainingCurves.Plot(File("m.jsonl", Metrics), png, 800, 600);
        Assert.Equal((800, 600), Decode(png));
        Assert.Equal(["curves.png"], Directory.GetFiles(Path.GetDirectoryName(png)!).Select(Path.GetFileName));
    }

    [Fact]
    public void Plot_MissingFile_IsAFileNotFoundExceptionNamingIt()
    {
        string missing = Path.Combine(_dir, "missing.jsonl");
        var e = Assert.Throws<FileNotFoundException>(() => TrainingCurves.Plot(missing, Path.Combine(_dir, "c.png")));
        Assert.Equal(missing, e.FileName);
        Assert.Contains(missing, e.Message);
    }

    [Theory]
    [InlineData("not json", 2)]
    [InlineData("{\"kind\":\"train\",\"loss\":1}", 2)]
    [InlineData("[1, 2]", 2)]
    [InlineData("{\"kind\":\"train\",\"step\":\"four\"}", 2)]
    public void Plot_BadLine_IsAnInvalidDataExceptionNamingFileAndLine(string bad, int line)
    {
        string path = File("bad.jsonl", Metrics.Split('\n')[0] + "\n" + bad + "\n");
        string png = Path.Combine(_dir, "c.png");
        var e = Assert.Throws<InvalidDataException>(() => TrainingCurves.Plot(path, png));
        Assert.Contains($"{path}, line {line}", e.Message);
        Assert.False(System.IO.File.Exists(png));
    }

    [Fact]
    public void Plot_NoRecords_IsAnInvalidDataException()
    {
        string path = File("empty.jsonl", "\n  \n");
        var e = Assert.Throws<InvalidDataException>(() => TrainingCurves.Plot(path, Path.Combine(_dir, "c.png")));
        Assert.Contains("no records", e.Message);
    }

    [Fact]
    public void Callback_DrawsTheWholeFileAtTheEndOfEveryFit_AlsoWhenCancelled()
    {
        manual_seed(2);
        using var model = new UNetModel(Tiny);
        string metrics = Path.Combine(_dir, "metrics.jsonl"), png = Path.Combine(_dir, "training-curves.png"), logs = Path.Combine(_dir, "tb");
        using var tensorBoard = new TensorBoardCallback(logs, imagesPerEvaluation: 1);
        using (var trainer = Trainer.For(model).WithData(TinyData).WithSteps(4, batchSize: 2).WithAdam(1e-3)
                   .WithLogging(logEvery: 2, evaluateEvery: 2, metrics).WithCallback(tensorBoard).WithCallback(new TrainingCurves(png, metrics)).Build())
            Assert.True(trainer.Fit(Data, Fold, cancellation: TestContext.Current.CancellationToken).Completed);
        Assert.Equal((1200, 900), Decode(png));

        // TorchSharp's TensorBoard images, made with SkiaSharp 2.88's API, still decode where ScottPlot brought SkiaSharp 3.119.
        var image = Assert.Single(TensorBoardEvents.ReadDirectory(logs).SelectMany(e => e.Values).Where(v => v.Image is not null)
            .Select(v => v.Image!).Take(1));
        using (var bitmap = SKBitmap.Decode(image.Encoded)) Assert.Equal((104, 52), (bitmap.Width, bitmap.Height));

        System.IO.File.Delete(png);
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        using (var trainer = Trainer.For(model).WithData(TinyData).WithSteps(4, batchSize: 2).WithAdam(1e-3)
                   .WithLogging(logEvery: 2, metricsFile: metrics).WithCallback(new TrainingCurves(png, metrics)).Build())
            Assert.False(trainer.Fit(Data, Fold, cancellation: cancelled.Token).Completed);
        Assert.Equal((1200, 900), Decode(png));
    }
}
