using System.Reflection;
using TorchSharp;
using UNet.Segmentation.Data;
using UNet.Segmentation.Model;
using UNet.Segmentation.Runtime;
using UNet.Segmentation.Training;
using static TorchSharp.torch;

namespace UNet.Segmentation.Tests.Training;

[Collection("LiveTensors")]
public sealed class TrainerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("trainer-").FullName;
    private static readonly IsbiDataset Data = IsbiDataset.Synthetic(new SyntheticEmOptions { Slices = 6, Size = 64, MeanCellDiameter = 16, MembraneWidthMin = 1, MembraneWidthMax = 3 });
    private static readonly UNetOptions Tiny = UNetOptions.Reference with { BaseFilters = 4, Depth = 2, InputSize = 92 };
    private static readonly DataOptions TinyData = DataOptions.Reference with { InputSize = 92, OutputSize = 52 };
    private static readonly FoldSplit Fold = new(0, [0, 1, 2, 3], [4, 5]);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static TrainerBuilder Configure(UNetModel model) =>
        Trainer.For(model).WithData(TinyData).WithSteps(6, batchSize: 2).WithAdam(1e-3).WithLogging(logEvery: 1);

    [Fact]
    public void Build_ListsEveryProblem()
    {
        using var model = new UNetModel(Tiny);
        var ex = Assert.Throws<OptionsValidationException>(() => Trainer.For(model).WithSteps(0, 0).WithMixedPrecision(Precision.Float16)
            .WithData(DataOptions.Reference with { PrefetchBatches = 0 }).Build());
        Assert.Equal("MaxSteps", ex.ParamName);
        Assert.Collection(ex.Problems,
            p => Assert.StartsWith("MaxSteps", p),
            p => Assert.StartsWith("BatchSize", p),
            p => Assert.Contains("Float16 needs a CUDA device", p),
            p => Assert.StartsWith("Data.PrefetchBatches", p));
    }

    [Fact]
    public void Build_TakesTheDataSizesFromTheModel()
    {
        using var model = new UNetModel(Tiny);
        // The reference's 572/388 are stated nowhere for this 92-pixel model: the trainer and its evaluator follow the model.
        using var trainer = Trainer.For(model).WithData(DataOptions.Reference).Build();
        Assert.Equal((92, model.OutputSize(92)), (trainer.Options.Data.InputSize, trainer.Options.Data.OutputSize));
        Assert.Equal(trainer.Options.Data, trainer.Evaluator.Options.Data);
    }

    [Fact]
    public void Fit_TrainsLogsEvaluatesAndWritesMetrics()
    {
        manual_seed(1);
        using var model = new UNetModel(Tiny);
        string metricsFile = Path.Combine(_dir, "metrics.jsonl");
        using var trainer = Configure(model).WithSteps(12, 2).WithLogging(logEvery: 3, evaluateEvery: 6, metricsFile).Build();
        var result = trainer.Fit(Data, Fold, cancellation: TestContext.Current.CancellationToken);
        Assert.True(result.Completed);
        Assert.Equal(12, result.Steps);
        Assert.Equal([3L, 6, 9, 12], result.History.Select(h => h.Step));
        Assert.All(result.History, h => Assert.True(double.IsFinite(h.Loss) && h.ImagesPerSecond > 0));
        Assert.True(result.History[^1].Loss < result.History[0].Loss, $"loss {result.History[0].Loss} -> {result.History[^1].Loss}");
        Assert.Equal([6L, 12], result.Evaluations.Select(e => e.Step));
        var lines = File.ReadAllLines(metricsFile);
        Assert.Equal(4, lines.Count(l => l.Contains("\"kind\":\"train\"")));
        Assert.Equal(2, lines.Count(l => l.Contains("\"kind\":\"eval\"")));
    }

    [Theory]
    [InlineData(Precision.Float32)]
    [InlineData(Precision.BFloat16)]
    public void ResumedRun_ReachesTheSameWeightsAsAnUnbrokenOne(Precision precision)
    {
        string unbroken = Path.Combine(_dir, "a"), broken = Path.Combine(_dir, "b");
        manual_seed(5);
        using var a = new UNetModel(Tiny with { DropoutRate = 0.3 });
        using (var t = Configure(a).WithMixedPrecision(precision).WithCheckpoints(unbroken, every: 3).Build()) t.Fit(Data, Fold, cancellation: TestContext.Current.CancellationToken);

        manual_seed(5);
        using (var b = new UNetModel(Tiny with { DropoutRate = 0.3 }))
        using (var t = Configure(b).WithMixedPrecision(precision).WithSteps(3, 2).WithCheckpoints(broken, every: 3).Build())
            Assert.Equal(3, t.Fit(Data, Fold, cancellation: TestContext.Current.CancellationToken).Steps); // "killed" after the checkpoint of step 3

        manual_seed(99); // a different initialisation: the checkpoint must overwrite it
        using var c = new UNetModel(Tiny with { DropoutRate = 0.3 });
        using (var t = Configure(c).WithMixedPrecision(precision).WithCheckpoints(broken, every: 3).Build())
        {
            var result = t.Fit(Data, Fold, cancellation: TestContext.Current.CancellationToken);
            Assert.Equal(6, result.Steps);
        }
        foreach (var ((name, pa), (_, pc)) in a.named_parameters().Zip(c.named_parameters()))
            Assert.True(pa.allclose(pc, rtol: 0, atol: 1e-6), $"{name} differs after resume");
    }

    [Fact]
    public void ACheckpoint_ResumesInTheOtherMemoryLayout()
    {
        // The layout is not the architecture: a contiguous run's checkpoint is taken by a
        // channels-last model, which gets its weights exactly and trains on from its step.
        // (Its later weights are not compared with a contiguous run's: the layout changes the
        // summation order, and Adam turns sign noise in near-zero gradients into whole steps.)
        string dir = Path.Combine(_dir, "layout");
        manual_seed(6);
        using var a = new UNetModel(Tiny);
        using (var t = Configure(a).WithSteps(3, 2).WithCheckpoints(dir, every: 3).Build())
            Assert.Equal(3, t.Fit(Data, Fold, cancellation: TestContext.Current.CancellationToken).Steps);

        manual_seed(98); // another initialisation: the checkpoint must overwrite it
        using var c = new UNetModel(Tiny with { ChannelsLast = true });
        using (var t = Configure(c).WithSteps(3, 2).WithCheckpoints(dir, every: 3).Build())
            Assert.Equal(3, t.Fit(Data, Fold, cancellation: TestContext.Current.CancellationToken).Steps);
        foreach (var ((name, pa), (_, pc)) in a.named_parameters().Zip(c.named_parameters()))
            Assert.True(pa.allclose(pc, rtol: 0, atol: 0), $"{name}: the channels-last model did not get the checkpoint's weights");

        using (var t = Configure(c).WithCheckpoints(dir, every: 3).Build())
        {
            var result = t.Fit(Data, Fold, cancellation: TestContext.Current.CancellationToken);
            Assert.Equal(6, result.Steps);
            Assert.True(result.Completed);
            Assert.All(result.History, r => Assert.True(double.IsFinite(r.Loss), $"step {r.Step}: loss {r.Loss}"));
            Assert.Equal([4L, 5L, 6L], result.History.Select(r => r.Step));
        }
    }

    [Fact]
    public void Cancellation_SavesACheckpointAndReturnsAPartialResult()
    {
        using var model = new UNetModel(Tiny);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        using var trainer = Configure(model).WithCheckpoints(Path.Combine(_dir, "c"), every: 100).Build();
        var result = trainer.Fit(Data, Fold, cancellation: cts.Token);
        Assert.False(result.Completed);
        Assert.Equal(0, result.Steps);
        Assert.NotNull(result.LastCheckpoint);
        Assert.True(File.Exists(result.LastCheckpoint));
    }

    [Fact]
    public void CheckpointsArePruned_AndOneOfAnotherArchitectureIsRefused()
    {
        string dir = Path.Combine(_dir, "d");
        using (var model = new UNetModel(Tiny))
        using (var trainer = Configure(model).WithSteps(4, 2).WithCheckpoints(dir, every: 1, keepLast: 2).Build())
            trainer.Fit(Data, Fold, cancellation: TestContext.Current.CancellationToken);
        Assert.Equal(2, Checkpoints.List(dir).Count);
        Assert.EndsWith("step-00000004.safetensors", Checkpoints.Latest(dir));

        using var other = new UNetModel(Tiny with { BaseFilters = 8 });
        using var t2 = Configure(other).WithCheckpoints(dir).Build();
        var ex = Assert.Throws<InvalidDataException>(() => t2.Fit(Data, Fold, cancellation: TestContext.Current.CancellationToken));
        Assert.Contains("another architecture", ex.Message);
        Assert.Contains("step-00000004.safetensors", ex.Message);
        // The checkpoint doubles as a model file.
        using var loaded = UNetModel.Load(Checkpoints.Latest(dir)!);
        Assert.Equal(Tiny, loaded.Options);
    }

    [Fact]
    public void AFailedOrKilledCheckpointWrite_LosesNothingAlreadySaved()
    {
        string dir = Path.Combine(_dir, "e");
        manual_seed(3);
        using var model = new UNetModel(Tiny);
        using (var trainer = Configure(model).WithSteps(3, 2).WithCheckpoints(dir, every: 3).Build())
            Assert.Equal(3, trainer.Fit(Data, Fold, cancellation: TestContext.Current.CancellationToken).Steps);
        string saved = Checkpoints.PathFor(dir, 3);
        byte[] bytes = File.ReadAllBytes(saved);

        // A save that fails when the finished file is put in place (a folder holds its name).
        using var adam = torch.optim.Adam(model.parameters(), 1e-3);
        string blocked = Checkpoints.PathFor(dir, 6);
        Directory.CreateDirectory(blocked);
        var failure = Record.Exception(() => Checkpoints.Save(dir, model, adam, new CheckpointState(6, 6, new LossScalerState(1, 0, 0), 0)));
        Assert.True(failure is IOException or UnauthorizedAccessException, $"expected an I/O failure, got {failure?.GetType().Name ?? "none"}");
        Assert.Equal(bytes, File.ReadAllBytes(saved));
        Assert.Empty(Directory.EnumerateFiles(dir, "*.tmp"));
        Assert.Equal([saved], Checkpoints.List(dir));
        Directory.Delete(blocked);

        // A process killed while writing leaves at most its temporary file, which is no checkpoint:
        // the newest complete one stays the one to resume from, and training resumes from it.
        File.WriteAllBytes(Path.Combine(dir, ".step-00000006.safetensors.0123456789abcdef0123456789abcdef.tmp"), bytes[..(bytes.Length / 2)]);
        Assert.Equal(saved, Checkpoints.Latest(dir));
        using var resumed = new UNetModel(Tiny);
        using (var trainer = Configure(resumed).WithSteps(4, 2).WithCheckpoints(dir, every: 3).Build())
        {
            var result = trainer.Fit(Data, Fold, cancellation: TestContext.Current.CancellationToken);
            Assert.Equal(4, result.Steps);
            Assert.Equal([4L], result.History.Select(h => h.Step));
        }
        Assert.Equal(bytes, File.ReadAllBytes(saved));
        Assert.EndsWith("step-00000004.safetensors", Checkpoints.Latest(dir));
    }

    [Fact]
    public void KeepFreedMemory_LeavesFreedMemoryReuseOn_AndFalseLeavesTheProcessAsItIs()
    {
        Assert.True(new TrainerOptions().KeepFreedMemory); // the default
        // FreedMemoryReuse decides once per process, and another test may already have turned it
        // on: put it back to "not tried yet" so this test sees what the trainer itself does.
        var state = typeof(FreedMemoryReuse).GetField("_state", BindingFlags.NonPublic | BindingFlags.Static)
            ?? throw new InvalidOperationException("FreedMemoryReuse has no _state field any more: update this test");
        state.SetValue(null, 0);
        Assert.False(FreedMemoryReuse.IsEnabled);

        using var model = new UNetModel(Tiny);
        var options = new TrainerOptions { Data = TinyData, MaxSteps = 1, BatchSize = 1 };
        using (Trainer.For(model).WithOptions(options with { KeepFreedMemory = false }).Build())
            Assert.False(FreedMemoryReuse.IsEnabled);
        using (var trainer = Trainer.For(model).WithOptions(options with { KeepFreedMemory = true }).Build())
        {
            Assert.True(trainer.Options.KeepFreedMemory);
            // glibc's mallopt is there on Linux; UNET_KEEP_FREED_MEMORY=0 keeps the setting off everywhere.
            bool expected = OperatingSystem.IsLinux() && Environment.GetEnvironmentVariable(FreedMemoryReuse.EnvironmentVariable) != "0";
            Assert.Equal(expected, FreedMemoryReuse.IsEnabled);
        }
        Assert.Equal(OperatingSystem.IsLinux() && Environment.GetEnvironmentVariable(FreedMemoryReuse.EnvironmentVariable) != "0", FreedMemoryReuse.IsEnabled); // process-wide: it stays
    }

    [Fact]
    public void BFloat16_TrainsWithFiniteLoss_KeepingTheModelsWeightsFloat32()
    {
        using var model = new UNetModel(Tiny);
        using var trainer = Configure(model).WithSteps(3, 2).WithMixedPrecision(Precision.BFloat16).Build();
        var result = trainer.Fit(Data, Fold, cancellation: TestContext.Current.CancellationToken);
        Assert.All(result.History, h => Assert.True(double.IsFinite(h.Loss)));
        Assert.All(model.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
    }

    [Fact]
    public void Benchmark_TimesRealTrainingSteps_WithoutTheWarmup()
    {
        using var model = new UNetModel(Tiny);
        using var trainer = Configure(model).WithMixedPrecision(Precision.BFloat16).Build();
        using var scope = NewDisposeScope();
        var before = model.parameters().First().clone();
        var report = trainer.Benchmark(Data, Fold, warmupSteps: 1, steps: 2);
        Assert.Equal(("train", 2, 1, 2), (report.Mode, report.MeasuredSteps, report.WarmupSteps, report.BatchSize));
        Assert.Equal(Precision.BFloat16, report.Precision); // the trainer's precision, which its steps ran in
        Assert.True(report.Throughput > 0);
        Assert.False(before.allclose(model.parameters().First(), 0, 0)); // the steps really trained
    }
}
