using System.Diagnostics;
using System.Text.Json;
using UNet.Segmentation.Data;
using UNet.Segmentation.Model;
using UNet.Segmentation.Training;
using UNet.Segmentation.Training.Callbacks;
using static TorchSharp.torch;

namespace UNet.Segmentation.Benchmarks.SideBySide;

/// <summary>
/// <c>loop</c>: what the open training loop costs. In one process, rounds alternate a bare fit
/// (no callbacks, no log, no checkpoints) and a fit with every built-in callback on (log and
/// metrics file every step, TensorBoard, early stopping, keep best, checkpoints, evaluations, and
/// a progress-like callback that reads each step's loss and Dice, as the CLI's live view does).
/// Training throughput is images over the fit's wall time less the time spent in evaluations
/// (which are measured work, not loop overhead); one JSON line.
/// </summary>
public static class LoopCommand
{
    public static int Run(IReadOnlyList<string> args)
    {
        int filters = 16, threads = Environment.ProcessorCount, steps = 20, rounds = 3, batch = 1;
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
                default: Console.Error.WriteLine($"loop: unknown option {args[i]} (--filters, --threads, --steps, --rounds, --batch)"); return 2;
            }
        }
        set_num_threads(threads);
        var data = IsbiDataset.Synthetic(new SyntheticEmOptions { Slices = 6, Size = 512 });
        var fold = new FoldSplit(0, [0, 1, 2, 3], [4, 5]);
        var bare = new List<double>();
        var full = new List<double>();
        for (int r = 0; r < rounds + 1; r++)
        {
            foreach (bool all in new[] { false, true })
            {
                double rate = Fit(filters, steps, batch, all, data, fold);
                if (r > 0) (all ? full : bare).Add(rate); // round 0 warms up
            }
        }
        var result = new Dictionary<string, object>
        {
            ["filters"] = filters, ["threads"] = get_num_threads(), ["steps"] = steps, ["batch"] = batch, ["rounds"] = rounds,
            ["bare_images_per_second"] = bare, ["all_callbacks_images_per_second"] = full,
            ["ratio_of_means"] = full.Average() / bare.Average(),
        };
        Console.WriteLine(JsonSerializer.Serialize(result));
        return 0;
    }

    private static double Fit(int filters, int steps, int batch, bool all, SegmentationData data, FoldSplit fold)
    {
        string dir = Directory.CreateTempSubdirectory("unet-loop-").FullName;
        try
        {
            manual_seed(0);
            using var model = new UNetModel(UNetOptions.Reference with { BaseFilters = filters });
            var builder = Trainer.For(model).WithSteps(steps, batch).WithAdam(1e-4).WithLogging(0);
            var timer = new EvaluationTimer();
            if (all)
                builder = builder.WithLogging(1, evaluateEvery: steps / 2, Path.Combine(dir, "metrics.jsonl"))
                    .WithCheckpoints(Path.Combine(dir, "checkpoints"), every: steps / 2)
                    // The timer hears of an evaluation first, before keep-best saves or TensorBoard draws.
                    .WithCallback(timer)
                    .WithCallback(new TensorBoardCallback(Path.Combine(dir, "tensorboard")))
                    .WithCallback(new EarlyStopping(patience: 100)).WithCallback(new KeepBest());
            using var trainer = builder.Build();
            var clock = Stopwatch.StartNew();
            trainer.Fit(data, all ? fold : fold with { Validation = [] });
            return steps * batch / (clock.Elapsed.TotalSeconds - timer.EvaluationSeconds);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Reads each step's loss and Dice (as a progress view does) and times the evaluations: they start after the last observer hears of a step.</summary>
    private sealed class EvaluationTimer : ITrainingCallback
    {
        private readonly Stopwatch _sinceStep = new();

        public double EvaluationSeconds { get; private set; }

        public void OnStepEnd(TrainingContext context, TrainingStep step)
        {
            _ = step.Loss + step.Dice;
            _sinceStep.Restart();
        }

        public void OnEvaluationEnd(TrainingContext context, EvaluationRecord evaluation) => EvaluationSeconds += _sinceStep.Elapsed.TotalSeconds;

        public void OnCheckpointSaved(TrainingContext context, CheckpointRecord checkpoint)
        {
            // The periodic checkpoint comes before the evaluation of the same step: it is loop overhead, not evaluation.
            if (checkpoint.Kind == CheckpointKind.Periodic) _sinceStep.Restart();
        }
    }
}
