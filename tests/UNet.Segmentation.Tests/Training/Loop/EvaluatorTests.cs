using UNet.Segmentation.Model;
using UNet.Segmentation.Tests.Shared;
using UNet.Segmentation.Training;
using static TorchSharp.torch;
using static UNet.Segmentation.Tests.Training.Loop.LoopFixture;

namespace UNet.Segmentation.Tests.Training.Loop;

[Collection("LiveTensors")]
public sealed class EvaluatorTests
{
    [Fact]
    public void TheEvaluator_MeasuresAsTheTrainerDoes_AndAllocatesNoOptimizerState()
    {
        manual_seed(2);
        using var model = new UNetModel(Tiny);
        long baseline = LiveTensors.SettledCount();
        var metrics = new Evaluator(model, new EvaluatorOptions { BatchSize = 2 }).Evaluate(EmData, Fold.Validation);
        // An optimizer would hold tensors per parameter; the evaluator holds none after the call.
        Assert.Equal(baseline, LiveTensors.SettledCount());
        Assert.Equal(2, metrics.Samples);

        using var trainer = Configure(model).Build();
        Assert.Equal(metrics, trainer.Evaluate(EmData, Fold.Validation), new MetricsComparer());
        Assert.True(LiveTensors.SettledCount() > baseline + model.parameters().Count(), "a trainer's Adam holds state per parameter (the check above could not fail otherwise)");
    }

    [Fact]
    public void BadOptionsAndData_AreListedAndNamed()
    {
        using var model = new UNetModel(Tiny);
        var e = Assert.Throws<OptionsValidationException>(() => new Evaluator(model, new EvaluatorOptions { BatchSize = 0, Precision = Precision.Float16 }));
        Assert.Equal(2, e.Problems.Count);
        Assert.Equal("BatchSize", e.ParamName);
        using var threeClasses = new UNetModel(Tiny with { Classes = 3 });
        Assert.Equal("data", Assert.Throws<ArgumentException>(() => new Evaluator(threeClasses).Evaluate(EmData, [0])).ParamName);
    }

    [Fact]
    public void MapDice_IsTheMeanOfInteriorAndMembraneHardDice_AtOneHalf()
    {
        // Interior: predicted {0, 2}, labelled {0}: 2·1/3. Membrane: predicted {1, 3}, labelled {1, 2, 3}: 2·2/5.
        Assert.Equal((2.0 / 3 + 4.0 / 5) / 2, ValidationReport.MapDiceOf([0.9f, 0.1f, 0.9f, 0.1f], [255, 0, 0, 0]), 12);
        Assert.Equal(1, ValidationReport.MapDiceOf([0.2f, 0.7f], [0, 200]));
        Assert.Equal("labels", Assert.Throws<ArgumentException>(() => ValidationReport.MapDiceOf([0.5f], [0, 0])).ParamName);
    }

    [Fact]
    public void Report_WritesMetricsJsonAndTheValidationMaps_WhichScoreAsTheReportSays()
    {
        manual_seed(6);
        using var model = new UNetModel(Tiny);
        string dir = Directory.CreateTempSubdirectory("report-").FullName;
        try
        {
            var evaluator = new Evaluator(model, new EvaluatorOptions { BatchSize = 2 });
            var report = evaluator.Report(EmData, Fold, dir, steps: 12);
            var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(report.MetricsPath)).RootElement;
            Assert.Equal(12, json.GetProperty("steps").GetInt64());
            Assert.Equal(report.Metrics.ReferenceDice, json.GetProperty("dice").GetDouble());
            Assert.Equal(report.Scores!.VRand, json.GetProperty("v_rand").GetDouble());
            // The TIFFs hold what was scored: scoring them again gives the report's numbers.
            var p = UNet.Segmentation.Imaging.Tiff.Read(report.ProbabilitiesPath!);
            var l = UNet.Segmentation.Imaging.Tiff.Read(report.LabelsPath!);
            Assert.Equal(Fold.Validation.Count, p.PageCount);
            var again = UNet.Segmentation.Scoring.ChallengeScores.Compute(p.GetFloat32(), l.GetUInt8(), p.PageCount, p.Height, p.Width);
            Assert.Equal((report.Scores.VRand, report.Scores.VInfo), (again.VRand, again.VInfo));
            Assert.Equal(report.MapDice!.Value, ValidationReport.MapDiceOf(p.GetFloat32(), l.GetUInt8()));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private sealed class MetricsComparer : IEqualityComparer<SegmentationMetrics>
    {
        public bool Equals(SegmentationMetrics? x, SegmentationMetrics? y) =>
            x!.ReferenceDice == y!.ReferenceDice && x.HardDicePerClass.SequenceEqual(y.HardDicePerClass) && x.CrossEntropy == y.CrossEntropy && x.Samples == y.Samples;

        public int GetHashCode(SegmentationMetrics obj) => obj.Samples.GetHashCode();
    }
}
