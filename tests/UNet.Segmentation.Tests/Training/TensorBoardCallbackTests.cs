using System.Text.Json;
using SkiaSharp;
using TorchSharp;
using UNet.Segmentation.Data;
using UNet.Segmentation.Model;
using UNet.Segmentation.Tests.Shared;
using UNet.Segmentation.Training;
using UNet.Segmentation.Training.Callbacks;
using static TorchSharp.torch;

namespace UNet.Segmentation.Tests.Training;

[Collection("LiveTensors")]
public sealed class TensorBoardCallbackTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tensorboard-").FullName;
    private static readonly IsbiDataset Data = Loop.LoopFixture.EmData;
    private static readonly UNetOptions Tiny = Loop.LoopFixture.Tiny;
    private static readonly FoldSplit Fold = Loop.LoopFixture.Fold;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static TrainingResult Fit(UNetModel model, ITrainingCallback callback, long steps = 8, string? metricsFile = null)
    {
        using var trainer = Trainer.For(model).WithSteps(steps, batchSize: 2).WithAdam(1e-3)
            .WithLogging(logEvery: 2, evaluateEvery: 4, metricsFile).WithCallback(callback).Build();
        return trainer.Fit(Data, Fold);
    }

    [Fact]
    public void MaskedCrc32C_MatchesTheKnownCheckValue()
    {
        // CRC-32C("123456789") = 0xE3069283, masked as TFRecord does.
        uint crc = 0xE3069283u;
        Assert.Equal(((crc >> 15) | (crc << 17)) + 0xa282ead8u, TensorBoardEvents.Masked("123456789"u8));
    }

    [Fact]
    public void Fit_WritesTheMetricsFileValuesAsScalarsAndOverlaysAsImages()
    {
        manual_seed(3);
        using var model = new UNetModel(Tiny);
        string logs = Path.Combine(_dir, "tb"), metricsFile = Path.Combine(_dir, "metrics.jsonl");
        using var callback = new TensorBoardCallback(logs, imagesPerEvaluation: 2);
        var result = Fit(model, callback, metricsFile: metricsFile);
        Assert.True(result.Completed);

        var events = TensorBoardEvents.ReadDirectory(logs);
        Assert.Equal("brain.Event:2", events[0].FileVersion);
        Assert.All(events.Skip(1), e => Assert.InRange(e.WallTime, DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 3600, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1));
        var scalars = events.SelectMany(e => e.Values.Where(v => v.Simple is not null).Select(v => (e.Step, v.Tag, Value: v.Simple!.Value)))
            .ToDictionary(x => (x.Tag, x.Step), x => x.Value);

        var lines = File.ReadAllLines(metricsFile).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var train = lines.Where(l => l.GetProperty("kind").GetString() == "train").ToList();
        Assert.Equal([2L, 4, 6, 8], train.Select(l => l.GetProperty("step").GetInt64()));
        foreach (var line in train)
        {
            long step = line.GetProperty("step").GetInt64();
            foreach (var (tag, key) in new[] { ("loss", "loss"), ("dice", "dice"), ("learning_rate", "learning_rate"), ("images_per_second", "images_per_second"), ("loss_scale", "loss_scale") })
                Assert.Equal((float)line.GetProperty(key).GetDouble(), scalars[($"train/{tag}", step)]);
        }

        var evals = lines.Where(l => l.GetProperty("kind").GetString() == "eval").ToList();
        Assert.Equal([4L, 8], evals.Select(l => l.GetProperty("step").GetInt64()));
        Assert.Equal(evals.Count, result.Evaluations.Count);
        foreach (var (line, record) in evals.Zip(result.Evaluations))
        {
            long step = record.Step;
            var m = record.Metrics;
            var json = line.GetProperty("metrics");
            Assert.Equal(step, line.GetProperty("step").GetInt64());
            Assert.Equal((float)(1 - json.GetProperty("soft_dice_loss").GetDouble()), scalars[("val/dice", step)]);
            Assert.Equal((float)json.GetProperty("hard_mean_dice").GetDouble(), scalars[("val/hard_dice", step)]);
            Assert.Equal((float)json.GetProperty("pixel_accuracy").GetDouble(), scalars[("val/accuracy", step)]);
            Assert.Equal((float)json.GetProperty("cross_entropy").GetDouble(), scalars[("val/cross_entropy", step)]);
            Assert.Equal((float)m.ReferenceDice, scalars[("val/dice", step)]);
            Assert.Equal((float)m.MeanIoU, scalars[("val/iou", step)]);
            for (int k = 0; k < m.Classes; k++) Assert.Equal((float)m.HardDicePerClass[k], scalars[($"val/dice_class_{k}", step)]);
        }

        var images = events.SelectMany(e => e.Values.Where(v => v.Image is not null).Select(v => (e.Step, v.Tag, v.Image!))).ToList();
        Assert.Equal(["val/overlay_0", "val/overlay_1", "val/overlay_0", "val/overlay_1"], images.Select(i => i.Tag));
        Assert.Equal([4L, 4, 8, 8], images.Select(i => i.Step));
        foreach (var (_, _, image) in images)
        {
            Assert.Equal((52, 104), (image.Height, image.Width));
            using var bitmap = SKBitmap.Decode(image.Encoded);
            Assert.NotNull(bitmap);
            Assert.Equal((52, 104), (bitmap.Height, bitmap.Width));
        }
    }

    [Fact]
    public void WithChallengeScores_EachEvaluationAddsVRandAndVInfo_ThinnedToo_AsTheRecordAndTheMetricsFileHaveThem()
    {
        manual_seed(4);
        using var model = new UNetModel(Tiny);
        string logs = Path.Combine(_dir, "scores"), metricsFile = Path.Combine(_dir, "scores.jsonl");
        using var callback = new TensorBoardCallback(logs, imagesPerEvaluation: 0);
        TrainingResult result;
        using (var trainer = Trainer.For(model).WithSteps(8, batchSize: 2).WithAdam(1e-3)
            .WithLogging(logEvery: 2, evaluateEvery: 4, metricsFile).WithChallengeScores().WithCallback(callback).Build())
            result = trainer.Fit(Data, Fold, cancellation: TestContext.Current.CancellationToken);

        var scalars = TensorBoardEvents.ReadDirectory(logs).SelectMany(e => e.Values.Where(v => v.Simple is not null).Select(v => (e.Step, v.Tag, Value: v.Simple!.Value)))
            .ToDictionary(x => (x.Tag, x.Step), x => x.Value);
        var evals = File.ReadAllLines(metricsFile).Select(l => JsonDocument.Parse(l).RootElement).Where(l => l.GetProperty("kind").GetString() == "eval").ToList();
        Assert.Equal(2, result.Evaluations.Count);
        foreach (var (record, line) in result.Evaluations.Zip(evals))
        {
            var scores = Assert.IsType<UNet.Segmentation.Scoring.ChallengeScoreReport>(record.Scores);
            Assert.Equal((float)scores.VRand, scalars[("val/v_rand", record.Step)]);
            Assert.Equal((float)scores.VInfo, scalars[("val/v_info", record.Step)]);
            Assert.Equal(scores.VRand, line.GetProperty("scores").GetProperty("v_rand").GetDouble());
            Assert.Equal(scores.VInfo, line.GetProperty("scores").GetProperty("v_info").GetDouble());
            // The official scores after border thinning, beside them (every synthetic slice has interior labels).
            var thinned = Assert.IsType<UNet.Segmentation.Scoring.ThinnedScoreReport>(scores.Thinned);
            Assert.Equal((float)thinned.VRand, scalars[("val/v_rand_thinned", record.Step)]);
            Assert.Equal((float)thinned.VInfo, scalars[("val/v_info_thinned", record.Step)]);
            Assert.Equal(thinned.VRand, line.GetProperty("scores").GetProperty("v_rand_thinned").GetDouble());
            Assert.Equal(thinned.VInfo, line.GetProperty("scores").GetProperty("v_info_thinned").GetDouble());
            Assert.Equal(thinned.BestRandThreshold, line.GetProperty("scores").GetProperty("best_rand_thinned_threshold").GetDouble());
        }
        // The final evaluation's numbers are those of scoring the trained model's full-resolution maps directly.
        var direct = new Evaluator(model, new EvaluatorOptions { BatchSize = 2 }).ChallengeScores(Data, Fold.Validation)!;
        Assert.Equal((direct.VRand, direct.VInfo), (result.Evaluations[^1].Scores!.VRand, result.Evaluations[^1].Scores!.VInfo));
        Assert.Equal((direct.Thinned!.VRand, direct.Thinned.VInfo), (result.Evaluations[^1].Scores!.Thinned!.VRand, result.Evaluations[^1].Scores!.Thinned!.VInfo));
    }

    [Fact]
    public void Fit_WithTheCallback_LeavesTheLiveTensorCountFlat()
    {
        manual_seed(4);
        using var model = new UNetModel(Tiny);
        using (var warm = new TensorBoardCallback(Path.Combine(_dir, "warm"))) Fit(model, warm, steps: 4);
        long baseline = LiveTensors.SettledCount();
        using (var callback = new TensorBoardCallback(Path.Combine(_dir, "tb"))) Fit(model, callback, steps: 8);
        Assert.Equal(baseline, LiveTensors.SettledCount());
    }

    [Fact]
    public void Constructor_RejectsBadArguments()
    {
        Assert.ThrowsAny<ArgumentException>(() => new TensorBoardCallback(" "));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TensorBoardCallback(_dir, -1));
    }
}
