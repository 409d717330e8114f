using System.Text.Json;
using UNet.Segmentation.Scoring;
using UNet.Segmentation.Training;
using UNet.Segmentation.Training.Callbacks;
using UNet.Segmentation.Tests.Shared;

namespace UNet.Segmentation.Tests.Training.Loop;

/// <summary>
/// The official thinned scores in the training-time record: the metrics file's "eval" line and the
/// TensorBoard scalars carry them when an evaluation has them, and say nothing made up when it has
/// not (a validation slice without interior label). Hand-made records, so every value is known.
/// </summary>
public sealed class ThinnedScoresRecordTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("thinned-record-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly SegmentationMetrics Metrics = new([0.8, 0.9], 0.85, [0.7, 0.8], 0.75, 0.9, 0.3, 0.12, 2, 200);

    private static ChallengeScoreReport Scores(bool thinned) =>
        new ChallengeScoreReport(0.71, 0.82, 0.61, 0.72, 0.9, 0.5, [], 1000)
        {
            Thinned = thinned ? new ThinnedScoreReport(0.93, 0.96, 0.91, 0.95, 0.7, 0.30000000000000004, [], 2) : null,
        };

    private JsonElement EvalLine(EvaluationRecord record)
    {
        string file = Path.Combine(_dir, $"metrics-{Guid.NewGuid():N}.jsonl");
        using (var callback = new MetricsFileCallback(file))
        {
            callback.OnFitStart(null!);
            callback.OnEvaluationEnd(null!, record);
        }
        return JsonDocument.Parse(File.ReadAllLines(file).Single()).RootElement;
    }

    private Dictionary<string, float> TensorBoardScalars(EvaluationRecord record)
    {
        string logs = Path.Combine(_dir, $"tb-{Guid.NewGuid():N}");
        using (var callback = new TensorBoardCallback(logs, imagesPerEvaluation: 0))
        {
            callback.OnFitStart(null!);
            callback.OnEvaluationEnd(null!, record);
        }
        return TensorBoardEvents.ReadDirectory(logs).SelectMany(e => e.Values.Where(v => v.Simple is not null))
            .ToDictionary(v => v.Tag, v => v.Simple!.Value);
    }

    [Fact]
    public void AnEvaluationWithThinnedScores_WritesThemBesideTheUnthinnedOnes()
    {
        var record = new EvaluationRecord(40, Metrics, Scores(thinned: true));
        var scores = EvalLine(record).GetProperty("scores");
        Assert.Equal(0.71, scores.GetProperty("v_rand").GetDouble());
        Assert.Equal(0.82, scores.GetProperty("v_info").GetDouble());
        Assert.Equal(0.93, scores.GetProperty("v_rand_thinned").GetDouble());
        Assert.Equal(0.96, scores.GetProperty("v_info_thinned").GetDouble());
        Assert.Equal(0.91, scores.GetProperty("v_rand_thinned_at05").GetDouble());
        Assert.Equal(0.95, scores.GetProperty("v_info_thinned_at05").GetDouble());
        Assert.Equal(0.7, scores.GetProperty("best_rand_thinned_threshold").GetDouble());
        Assert.Equal(0.30000000000000004, scores.GetProperty("best_info_thinned_threshold").GetDouble());

        var scalars = TensorBoardScalars(record);
        Assert.Equal((0.71f, 0.82f), (scalars["val/v_rand"], scalars["val/v_info"]));
        Assert.Equal((0.93f, 0.96f), (scalars["val/v_rand_thinned"], scalars["val/v_info_thinned"]));
    }

    [Fact]
    public void AnEvaluationWithoutThinnedScores_WritesNullsAndNoThinnedScalars()
    {
        var record = new EvaluationRecord(40, Metrics, Scores(thinned: false));
        var scores = EvalLine(record).GetProperty("scores");
        Assert.Equal(0.71, scores.GetProperty("v_rand").GetDouble());
        foreach (string key in (string[])["v_rand_thinned", "v_info_thinned", "v_rand_thinned_at05", "v_info_thinned_at05", "best_rand_thinned_threshold", "best_info_thinned_threshold"])
            Assert.Equal(JsonValueKind.Null, scores.GetProperty(key).ValueKind);

        var scalars = TensorBoardScalars(record);
        Assert.Contains("val/v_rand", scalars.Keys);
        Assert.DoesNotContain("val/v_rand_thinned", scalars.Keys);
        Assert.DoesNotContain("val/v_info_thinned", scalars.Keys);
    }

    [Fact]
    public void AnEvaluationWithoutChallengeScores_HasNoScoresAtAll()
    {
        var record = new EvaluationRecord(40, Metrics);
        Assert.False(EvalLine(record).TryGetProperty("scores", out _));
        Assert.DoesNotContain(TensorBoardScalars(record).Keys, k => k.StartsWith("val/v_", StringComparison.Ordinal));
    }
}
