using Microsoft.Extensions.Logging;
using TorchSharp;
using UNet.Segmentation.Data;
using UNet.Segmentation.Model;
using UNet.Segmentation.Tests.Shared;
using UNet.Segmentation.Training;
using UNet.Segmentation.Training.Callbacks;

namespace UNet.Segmentation.Tests.Training;

/// <summary>
/// A long run through the library's own training loop (<see cref="Trainer.Fit"/>) neither piles
/// up tensors while it runs nor leaves any behind: the live-tensor count is the same at step 100
/// and step 1,000, and back at its baseline once the trainer and the model are disposed.
/// </summary>
[Collection("LiveTensors")]
public sealed class TrainingLeakTests(ITestOutputHelper output)
{
    private const int Steps = 1000, LogEvery = 100;

    private static readonly IsbiDataset Data = IsbiDataset.Synthetic(new SyntheticEmOptions { Slices = 3, Size = 64, MeanCellDiameter = 16, MembraneWidthMin = 1, MembraneWidthMax = 3 });
    private static readonly UNetOptions Tiny = UNetOptions.Reference with { BaseFilters = 2, Depth = 2, InputSize = 92 };
    private static readonly DataOptions TinyData = DataOptions.Reference with { InputSize = 92, OutputSize = 52, PrefetchBatches = 1 };
    private static readonly FoldSplit Fold = new(0, [0, 1], [2]);

    private static Trainer Build(UNetModel model, long steps, ILogger? logger = null, string? callbacksDir = null)
    {
        var builder = Trainer.For(model).WithData(TinyData).WithSteps(steps, batchSize: 1).WithAdam(1e-3).WithLogging(logEvery: LogEvery);
        if (callbacksDir is not null)
        {
            // Every built-in callback: metrics file, evaluations, checkpoints, early stopping, keep best, TensorBoard.
            builder = builder.WithLogging(LogEvery, evaluateEvery: LogEvery, Path.Combine(callbacksDir, "metrics.jsonl"))
                .WithCheckpoints(Path.Combine(callbacksDir, "checkpoints"), every: LogEvery, keepLast: 2)
                .WithCallback(new EarlyStopping(patience: Steps)).WithCallback(new KeepBest())
                .WithCallback(new TensorBoardCallback(Path.Combine(callbacksDir, "tensorboard")));
        }
        return (logger is null ? builder : builder.WithLogger(logger)).Build();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ThousandStepsOfFit_KeepTheLiveTensorCountFlat_AndReturnItToTheBaseline(bool everyBuiltInCallback)
    {
        string? dir = everyBuiltInCallback ? Directory.CreateTempSubdirectory("leak-").FullName : null;
        // Warm-up: whatever libtorch, TorchSharp or the library make once per process is not a leak.
        using (var warm = new UNetModel(Tiny))
        using (var trainer = Build(warm, 3))
            trainer.Fit(Data, Fold, cancellation: TestContext.Current.CancellationToken);

        var logger = new LiveTensorLogger();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var model = new UNetModel(Tiny);
        // The baseline holds the model. (Constructing it also leaves one count per parameter that
        // is never given back: TorchSharp 0.107's Parameter(Tensor) takes the data tensor's native
        // handle without decrementing Tensor.TotalCount. That is bookkeeping, not a tensor, and it
        // happens before the baseline.)
        long baseline = LiveTensors.SettledCount();
        long afterFit;
        using (var trainer = Build(model, Steps, logger, dir))
        {
            var result = trainer.Fit(Data, Fold, cancellation: TestContext.Current.CancellationToken);
            Assert.True(result.Completed);
            Assert.Equal(Steps, result.Steps);
            Assert.All(result.History, h => Assert.True(double.IsFinite(h.Loss)));
            Assert.NotNull(result.FinalEvaluation);
            afterFit = torch.Tensor.TotalCount;
        }
        long afterTrainer = torch.Tensor.TotalCount;
        int parameters = model.parameters().Count();
        model.Dispose();
        long afterModel = torch.Tensor.TotalCount;
        output.WriteLine($"{Steps} steps in {clock.Elapsed.TotalSeconds:F1} s; live tensors: baseline {baseline}, at the logged steps {string.Join(", ", logger.Counts.Select(c => $"{c.Step}: {c.Count}"))}, "
            + $"after Fit {afterFit}, after the trainer's disposal {afterTrainer}, after the model's {afterModel} ({parameters} parameters)");

        Assert.Equal(Enumerable.Range(1, Steps / LogEvery).Select(i => (long)i * LogEvery), logger.Counts.Select(c => c.Step));
        long atFirst = logger.Counts[0].Count;
        Assert.All(logger.Counts, c => Assert.True(c.Count == atFirst, $"{c.Count} live tensors at step {c.Step}, {atFirst} at step {LogEvery}"));
        Assert.True(atFirst > baseline, "the count inside the loop should include the optimizer's state and the step's tensors");
        // Read without collecting: a tensor left to the finalizer still counts here.
        Assert.Equal(baseline, afterTrainer);
        Assert.Equal(baseline - parameters, afterModel);
        if (dir is null) return;
        Assert.True(File.Exists(Path.Combine(dir, "checkpoints", KeepBest.FileName)));
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(dir, "tensorboard"), "*", SearchOption.AllDirectories));
        Directory.Delete(dir, recursive: true);
    }

    /// <summary>
    /// Records the live-tensor count whenever the trainer logs a step. That log call comes at the
    /// same point of every step (the step's loss, logits and labels still alive); before reading,
    /// it waits until the count has not moved for 100 ms, i.e. the batch loader's background
    /// thread has filled its queue and blocked, so the loader holds the same batches each time.
    /// </summary>
    private sealed class LiveTensorLogger : ILogger
    {
        public List<(long Step, long Count)> Counts { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (state is not IReadOnlyList<KeyValuePair<string, object?>> values) return;
            if (!values.Any(kv => kv.Key == "{OriginalFormat}" && kv.Value is string f && f.StartsWith("step {Step}", StringComparison.Ordinal))) return;
            long step = Convert.ToInt64(values.First(kv => kv.Key == "Step").Value, System.Globalization.CultureInfo.InvariantCulture);
            Counts.Add((step, SteadyCount()));
        }

        private static long SteadyCount()
        {
            var timeout = System.Diagnostics.Stopwatch.StartNew();
            long last = torch.Tensor.TotalCount;
            for (int same = 0; same < 50 && timeout.Elapsed < TimeSpan.FromSeconds(10); )
            {
                Thread.Sleep(2);
                long now = torch.Tensor.TotalCount;
                same = now == last ? same + 1 : 0;
                last = now;
            }
            return last;
        }
    }
}
