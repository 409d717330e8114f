using System.Text.Json;
using UNet.Segmentation.Data;
using UNet.Segmentation.Model;
using UNet.Segmentation.Serialization;
using UNet.Segmentation.Training;
using UNet.Segmentation.Training.Callbacks;
using static UNet.Segmentation.Tests.Training.Loop.LoopFixture;

namespace UNet.Segmentation.Tests.Training.Loop;

/// <summary>A fit on every item (FoldSplit.All, the reference's --fold None): no evaluation, the fold recorded as none, resume.</summary>
[Collection("LiveTensors")]
public sealed class NoFoldFitTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("nofold-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void AFitOnAllItems_EvaluatesNothing_RecordsFoldNone_AndResumes()
    {
        string dir = Path.Combine(_dir, "c"), metrics = Path.Combine(_dir, "metrics.jsonl");
        var all = EmData.AllItems();
        var seen = new RecordingCallback();
        TrainingResult first;
        using (var model = new UNetModel(Tiny))
        using (var t = Configure(model, 2).WithLogging(1, 0, metrics).WithCheckpoints(dir, every: 1).WithCallback(seen).Build())
            first = t.Fit(EmData, all, cancellation: TestContext.Current.CancellationToken);

        Assert.True(first.Completed);
        Assert.Empty(first.Evaluations);
        Assert.DoesNotContain(seen.Calls, c => c.StartsWith("eval", StringComparison.Ordinal));
        Assert.All(File.ReadLines(metrics), l => Assert.Equal("train", JsonDocument.Parse(l).RootElement.GetProperty("kind").GetString()));
        Assert.Equal("none", Safetensors.ReadHeader(first.LastCheckpoint!).Metadata[Checkpoints.FoldKey]);

        // A longer run over the same folder resumes from step 2, and its checkpoints say none too.
        var resumed = new RecordingCallback();
        using (var model = new UNetModel(Tiny))
        using (var t = Configure(model, 4).WithCheckpoints(dir, every: 1).WithCallback(resumed).Build())
        {
            var second = t.Fit(EmData, all, cancellation: TestContext.Current.CancellationToken);
            Assert.Equal("start 2", resumed.Calls[0]);
            Assert.Equal(4, second.Steps);
            Assert.Empty(second.Evaluations);
            var state = Checkpoints.Restore(second.LastCheckpoint!, model, t.Optimizer);
            Assert.Equal((4L, "none"), (state.Step, state.Fold));
        }
    }

    [Fact]
    public void AFoldsCheckpoint_RecordsItsIndex()
    {
        string dir = Path.Combine(_dir, "k");
        using var model = new UNetModel(Tiny);
        using var t = Configure(model, 1).WithCheckpoints(dir).Build();
        var result = t.Fit(EmData, EmData.Fold(2, folds: 3), cancellation: TestContext.Current.CancellationToken);
        Assert.Equal("2", Safetensors.ReadHeader(result.LastCheckpoint!).Metadata[Checkpoints.FoldKey]);
    }

    [Fact]
    public void WithoutValidationItems_EvaluationOptionsAndWatchers_AreRefusedTogether_BeforeAnythingIsWritten()
    {
        string dir = Path.Combine(_dir, "refused");
        using var model = new UNetModel(Tiny);
        using var t = Configure(model, 2).WithLogging(1, evaluateEvery: 1).WithChallengeScores().WithCheckpoints(dir)
            .WithCallback(new KeepBest()).WithCallback(new EarlyStopping(2)).Build();
        var e = Assert.Throws<OptionsValidationException>(() => t.Fit(EmData, EmData.AllItems(), cancellation: TestContext.Current.CancellationToken));
        Assert.Equal(4, e.Problems.Count);
        Assert.StartsWith("EvaluateEvery 1", e.Problems[0]);
        Assert.StartsWith("ChallengeScores", e.Problems[1]);
        Assert.StartsWith("KeepBest", e.Problems[2]);
        Assert.StartsWith("EarlyStopping", e.Problems[3]);
        Assert.All(e.Problems, p => Assert.Contains("no fold", p));
        Assert.Equal("EvaluateEvery", e.ParamName);
        Assert.DoesNotContain('\n', e.Message);
        Assert.False(Directory.Exists(dir));
    }

    [Fact]
    public void AFoldWithoutValidationItems_IsRefusedTheSame_AndWithoutThoseOptionsTrains()
    {
        using var model = new UNetModel(Tiny);
        var empty = Fold with { Validation = [] };
        using (var t = Configure(model, 1).WithLogging(1, evaluateEvery: 1).Build())
            Assert.Contains("no validation items", Assert.Throws<OptionsValidationException>(() => t.Fit(EmData, empty, cancellation: TestContext.Current.CancellationToken)).Message);
        using (var t = Configure(model, 1).Build())
            Assert.Empty(t.Fit(EmData, empty, cancellation: TestContext.Current.CancellationToken).Evaluations);
    }
}
