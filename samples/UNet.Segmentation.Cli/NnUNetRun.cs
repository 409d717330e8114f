using System.CommandLine;
using UNet.Segmentation.Data;
using UNet.Segmentation.Data.Msd;
using UNet.Segmentation.Distributed.Mpi;
using UNet.Segmentation.Model.NnUNet;
using UNet.Segmentation.Training;
using static TorchSharp.torch;

namespace UNet.Segmentation.Cli;

/// <summary>
/// <c>unet --model nnunet --dim 3 [--task DIR]</c>: nnU-Net trained through the same Trainer as the
/// U-Net on an MSD task (or a generated synthetic one), with the run options it shares (steps,
/// batch, learning rate, seed, fold, checkpoints and resume, logging, data parallelism).
/// Inference, benchmark mode and 2-D are not here yet.
/// </summary>
internal static class NnUNetRun
{
    /// <summary>NVIDIA's nnUNet (PyTorch) default learning rate and weight decay.</summary>
    private const double LearningRate = 8e-4, WeightDecay = 1e-4;

    public static int Run(ParseResult p, RunOptions o, MpiWorld? world, string mode, int? fold, Device device)
    {
        if (p.GetValue(o.Dim) != 3) throw new ArgumentException($"--model nnunet --dim {p.GetValue(o.Dim)}: only --dim 3 is implemented");
        if (mode is not ("train" or "train_and_evaluate"))
            throw new ArgumentException($"--model nnunet runs --exec-mode train or train_and_evaluate (got {mode}): its inference is not in the CLI yet");
        if (p.GetValue(o.Benchmark)) throw new ArgumentException("--model nnunet has no --benchmark mode yet");
        if (p.GetValue(o.DataDir) is not null) throw new ArgumentException("--model nnunet reads an MSD task with --task, not --data-dir");
        string modelDir = p.GetValue(o.ModelDir)!.FullName;
        string logDir = p.GetValue(o.LogDir)?.FullName ?? modelDir;
        var taskDir = p.GetValue(o.Task);
        if (taskDir is { Exists: false }) throw new ArgumentException($"--task {taskDir.FullName} does not exist");
        int side = p.GetValue(o.Patch) ?? (taskDir is null ? 32 : 128);
        if (side < 8) throw new ArgumentException($"--patch must be at least 8 (got {side})");
        int seed = p.GetValue(o.Seed);
        var summary = new List<(string, string)> { ("mode", mode), ("model", "nnunet, 3-D"), ("device", device.ToString()) };

        // Rank 0 writes the synthetic task and the cache first; the other ranks then read them.
        string synthetic = Path.Combine(modelDir, "synthetic-task");
        MsdPreparedData Prepare(bool write)
        {
            var task = taskDir is not null ? MsdTask.Load(taskDir.FullName)
                : write ? SyntheticMsd.Generate(synthetic, new SyntheticMsdOptions())
                : MsdTask.Load(synthetic);
            return MsdCache.Prepare(task, Path.Combine(modelDir, "cache"), new MsdPreprocessingOptions { PatchSize = new Shape3D(side, side, side) });
        }
        MsdPreparedData? prepared = world is null || world.Rank == 0 ? Prepare(write: true) : null;
        world?.Barrier("the MSD cache");
        prepared ??= Prepare(write: false);
        bool augment = !p.GetValue(o.NoAugment);
        var data = MsdTrainingData.Load(prepared, augment ? MsdAugmentationOptions.Reference : MsdAugmentationOptions.None);
        var split = fold is { } k ? MsdFolds.Split(k, data.Count) : FoldSplit.All(data.Count);
        summary.Add(("task", $"{(taskDir is null ? "synthetic (generated)" : taskDir.FullName)}: {data.Count} cases, {data.Channels} channel(s), {data.Classes} classes, patch {side}³"));
        summary.Add(("fold", split.IsAll ? "none (every case trains)" : $"{fold}: {split.Training.Count} training, {split.Validation.Count} validation cases"));

        manual_seed(seed);
        var options = NnUNetPlan.For([side, side, side], prepared.Plan.TargetSpacing, data.Channels, data.Classes)
            with { BaseFilters = p.GetValue(o.Filters) ?? 32 };
        using var model = new NnUNetModel(options);
        summary.Add(("network", $"{options.Levels} levels, {options.BaseFilters} base filters, {model.ParameterCount:N0} parameters"));
        long maxSteps = p.GetValue(o.MaxSteps) ?? 1000;
        bool evaluates = mode == "train_and_evaluate";
        var builder = Trainer.For(model)
            .WithAdam(p.GetValue(o.LearningRate) ?? LearningRate)
            .WithWeightDecay(p.GetResult(o.WeightDecay) is { Implicit: false } ? p.GetValue(o.WeightDecay) : WeightDecay)
            .WithSteps(maxSteps, p.GetValue(o.BatchSize) ?? 2)
            .WithSeed(seed)
            .WithAugmentation(augment)
            .WithMixedPrecision(p.GetValue(o.Amp) ? Precision.BFloat16 : Precision.Float32)
            .OnDevice(device)
            .WithCheckpoints(Path.Combine(modelDir, "checkpoints"), every: (int)Math.Clamp(maxSteps / 4, 1, 500))
            .WithLogging(p.GetValue(o.LogEvery) ?? 10, evaluates ? p.GetValue(o.EvaluateEvery) : 0, Path.Combine(logDir, "metrics.jsonl"))
            .WithLogger(new ConsoleLogger());
        if (world is not null) builder = builder.WithDataParallel(world);
        using var trainer = builder.Build();
        using var signals = new StopSignals();
        var result = trainer.Fit(data, evaluates ? split : split with { Validation = [] }, resume: true, signals.Token);
        if (!trainer.IsMainRank) return 0;
        summary.Add(("training", $"{result.Steps} steps in {result.Elapsed.TotalMinutes:F1} min{(result.Completed ? "" : " (stopped)")}"));
        if (result.LastCheckpoint is { } c) summary.Add(("checkpoint", SummaryTable.Shorten(c)));
        if (result.FinalEvaluation is { } e) summary.AddRange(SummaryTable.MetricRows("evaluation", e.Metrics));
        SummaryTable.Write(summary);
        return signals.Received is not null && !result.Completed ? signals.ExitCode : 0;
    }
}
