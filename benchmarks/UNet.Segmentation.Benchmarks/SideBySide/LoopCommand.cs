using System.Diagnostics;
using System.Text.Json;
using UNet.Segmentation.Data;
using UNet.Segmentation.Model;
using UNet.Segmentation.Training;
using UNet.Segmentation.Training.Callbacks;
using static TorchSharp.torch;

namespace UNet.Segmentation.Benchmarks.SideBySide;

/// <summary>
/// <c>loop</c>: what the open training loop's built-in callbacks cost. In one process, rounds
/// alternate today's fit (log and metrics file every <c>--log-every</c> steps, checkpoints and
/// evaluations every half run) and the same fit with every added built-in callback on
/// (TensorBoard with validation overlays, early stopping, keep best, and a progress-like callback
/// that reads each step's loss, as the CLI's live view does). A clock registered last reads the
/// time after every step's callbacks: the interval between two such readings is one training step
/// with all its per-step callbacks, unless the earlier step checkpointed and evaluated. Training
/// throughput comes from the plain intervals; the others, less a plain step, are each
/// evaluation's cost (checkpoint, evaluation and what the callbacks do with it). One JSON line;
/// the first round warms up and is not reported.
/// </summary>
public static class LoopCommand
{
    public static int Run(IReadOnlyList<string> args)
    {
        int filters = 16, threads = Environment.ProcessorCount, steps = 40, rounds = 3, batch = 1, logEvery = 10;
        for (int i = 0; i < args.Count; i += 2)
        {
            if (i + 1 >= args.Count || !int.TryParse(args[i + 1], out int v) || v < 1) { Console.Error.WriteLine($"loop: {args[i]} needs a positive count"); return 2; }
            switch (args[i])
            {
                case "--filters": filters = v; break;
                case "--threads": threads = v; break;
                case "--steps": steps = v; break;
                case "--rounds": rounds = v; break;
                case "--batch": batch = v; break;
                case "--log-every": logEvery = v; break;
                default: Console.Error.WriteLine($"loop: unknown option {args[i]} (--filters, --threads, --steps, --rounds, --batch, --log-every)"); return 2;
            }
        }
        if (steps < 4) { Console.Error.WriteLine("loop: --steps must be at least 4"); return 2; }
        set_num_threads(threads);
        var data = IsbiDataset.Synthetic(new SyntheticEmOptions { Slices = 6, Size = 512 });
        var fold = new FoldSplit(0, [0, 1, 2, 3], [4, 5]);
        var runs = new Dictionary<bool, List<(double Rate, double EvaluationSeconds)>> { [false] = [], [true] = [] };
        for (int r = 0; r < rounds + 1; r++)
        {
            foreach (bool all in new[] { false, true })
            {
                var run = Fit(filters, steps, batch, logEvery, all, data, fold);
                if (r > 0) runs[all].Add(run); // round 0 warms up
            }
        }
        var result = new Dictionary<string, object>
        {
            ["filters"] = filters, ["threads"] = get_num_threads(), ["steps"] = steps, ["batch"] = batch, ["rounds"] = rounds, ["log_every"] = logEvery,
            ["today_images_per_second"] = runs[false].Select(x => x.Rate), ["all_callbacks_images_per_second"] = runs[true].Select(x => x.Rate),
            ["ratio_of_means"] = runs[true].Average(x => x.Rate) / runs[false].Average(x => x.Rate),
            ["today_seconds_per_evaluation"] = runs[false].Select(x => x.EvaluationSeconds),
            ["all_callbacks_seconds_per_evaluation"] = runs[true].Select(x => x.EvaluationSeconds),
        };
        Console.WriteLine(JsonSerializer.Serialize(result));
        return 0;
    }

    private static (double Rate, double EvaluationSeconds) Fit(int filters, int steps, int batch, int logEvery, bool all, SegmentationData data, FoldSplit fold)
    {
        string dir = Directory.CreateTempSubdirectory("unet-loop-").FullName;
        try
        {
            manual_seed(0);
            using var model = new UNetModel(UNetOptions.Reference with { BaseFilters = filters });
            int every = steps / 2;
            var builder = Trainer.For(model).WithSteps(steps, batch).WithAdam(1e-4)
                .WithLogging(logEvery, evaluateEvery: every, Path.Combine(dir, "metrics.jsonl"))
                .WithCheckpoints(Path.Combine(dir, "checkpoints"), every: every);
            if (all)
                builder = builder.WithCallback(new ReadsEveryLoss()).WithCallback(new TensorBoardCallback(Path.Combine(dir, "tensorboard")))
                    .WithCallback(new EarlyStopping(patience: 100)).WithCallback(new KeepBest());
            var clock = new StepClock();
            using var trainer = builder.WithCallback(clock).Build();
            trainer.Fit(data, fold);
            // Intervals that follow a step which checkpointed and evaluated hold that work too.
            var plain = new List<double>();
            var afterEvaluation = new List<double>();
            for (int k = 2; k < clock.Times.Count; k++)
                (((k - 1) % every == 0) ? afterEvaluation : plain).Add(clock.Times[k] - clock.Times[k - 1]);
            double step = plain.Average();
            return (batch / step, afterEvaluation.Count == 0 ? 0 : afterEvaluation.Average() - step);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>The time (s) after each step's callbacks, index = step (0 unused).</summary>
    private sealed class StepClock : ITrainingCallback
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();

        public List<double> Times { get; } = [0];

        public void OnStepEnd(TrainingContext context, TrainingStep step) => Times.Add(_clock.Elapsed.TotalSeconds);
    }

    /// <summary>Reads each step's loss, as the CLI's live progress view does.</summary>
    private sealed class ReadsEveryLoss : ITrainingCallback
    {
        public void OnStepEnd(TrainingContext context, TrainingStep step) => _ = step.Loss;
    }
}
