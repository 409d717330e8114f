using System.CommandLine;
using UNet.Segmentation.Data;
using UNet.Segmentation.Data.Msd;
using UNet.Segmentation.Distributed.Mpi;
using UNet.Segmentation.Inference.NnUNet;
using UNet.Segmentation.Model.NnUNet;
using UNet.Segmentation.Training;
using static TorchSharp.torch;

namespace UNet.Segmentation.Cli;

/// <summary>
/// <c>unet --model nnunet --dim 2|3 [--task DIR]</c>: the nnU-Net on an MSD task (or a generated
/// synthetic one), 3-D on volume patches or 2-D on axial-slice patches, trained through the same
/// Trainer as the U-Net with the run options it shares (steps, batch, learning rate, seed, fold,
/// checkpoints and resume, logging, data parallelism); evaluated through the sliding window
/// (train_and_evaluate, evaluate: metrics.json with per-class and BraTS-region Dice); and timed
/// with <c>--benchmark</c> (<see cref="NnUNetBenchmark"/>). Prediction of test cases is
/// <c>unet predict --model nnunet</c>.
/// </summary>
internal static class NnUNetRun
{
    /// <summary>NVIDIA's nnUNet (PyTorch) default learning rate and weight decay.</summary>
    private const double LearningRate = 8e-4, WeightDecay = 1e-4;

    public static int Run(ParseResult p, RunOptions o, MpiWorld? world, string mode, int? fold, Device device)
    {
        int dim = p.GetValue(o.Dim);
        if (dim is not (2 or 3)) throw new ArgumentException($"--dim must be 2 (slices) or 3 (volumes) for --model nnunet (got {dim})");
        bool benchmark = p.GetValue(o.Benchmark);
        if (!benchmark && mode is not ("train" or "train_and_evaluate" or "evaluate"))
            throw new ArgumentException($"--model nnunet runs --exec-mode train, train_and_evaluate or evaluate (got {mode}); predict test cases with: unet predict --model nnunet --checkpoint C --input TASK --output-dir D");
        if (p.GetValue(o.DataDir) is not null) throw new ArgumentException("--model nnunet reads an MSD task with --task, not --data-dir");
        string modelDir = p.GetValue(o.ModelDir)!.FullName;
        string logDir = p.GetValue(o.LogDir)?.FullName ?? modelDir;
        var taskDir = p.GetValue(o.Task);
        if (taskDir is { Exists: false }) throw new ArgumentException($"--task {taskDir.FullName} does not exist");
        bool training = mode.StartsWith("train", StringComparison.Ordinal);
        string checkpoints = Path.Combine(modelDir, "checkpoints");
        // Checked before anything runs: a bad --overlap is one line, not a failure after the cache is made.
        var prediction = new NnUNetPredictionOptions
        {
            Overlap = p.GetResult(o.Overlap) is { Implicit: false } ? p.GetValue(o.Overlap) : new NnUNetPredictionOptions().Overlap,
            TestTimeAugmentation = p.GetValue(o.Tta),
            Precision = !training && p.GetValue(o.Amp) ? ScalarType.BFloat16 : ScalarType.Float32,
        };
        try { prediction.EnsureValid(); }
        catch (ArgumentOutOfRangeException bad) { throw new ArgumentException($"--overlap: {bad.Message.Split(" (Parameter")[0]}"); }
        if (p.GetValue(o.Amp)) BFloat16Warning.IfEmulated("--amp", device);
        if (benchmark && !training && p.GetValue(o.Amp)) throw new ArgumentException("--amp: the nnU-Net's inference benchmark runs in float32 for now");
        // A model that is only read (evaluate, inference benchmark) brings its own patch; its dimensions must be --dim's.
        string? checkpoint = training ? null : p.GetValue(o.Checkpoint)?.FullName ?? Checkpoints.Latest(checkpoints)
            ?? throw new ArgumentException($"no checkpoint in {checkpoints}: train first, or give --checkpoint FILE");
        var stored = (checkpoint ?? Checkpoints.Latest(checkpoints)) is { } existing ? StoredOptions(existing, checkpoint is null ? "--model-dir's newest checkpoint" : "--checkpoint") : null;
        if (stored is not null && stored.SpatialDims != dim)
            throw new ArgumentException($"--dim {dim}: {(checkpoint is null ? "--model-dir's newest checkpoint" : "--checkpoint")} {stored.Path} holds a {stored.SpatialDims}-D nnU-Net; give --dim {stored.SpatialDims}{(checkpoint is null ? " or another --model-dir" : " or a " + dim + "-D checkpoint")}");
        int side = stored is not null && !training ? stored.PatchSide : p.GetValue(o.Patch) ?? (taskDir is null ? 32 : dim == 3 ? 128 : 192);
        if (side < 8) throw new ArgumentException($"--patch must be at least 8 (got {side})");
        int seed = p.GetValue(o.Seed);
        string shape = dim == 3 ? $"{side}³ volume patches" : $"{side}² slice patches";
        var summary = new List<(string, string)> { ("mode", mode + (benchmark ? " (benchmark)" : "")), ("model", $"nnunet, {dim}-D"), ("device", device.ToString()) };

        // Rank 0 writes the synthetic task and the cache first; the other ranks then read them.
        string synthetic = Path.Combine(modelDir, "synthetic-task");
        MsdTask? task = null;
        MsdPreparedData Prepare(bool write)
        {
            task = taskDir is not null ? MsdTask.Load(taskDir.FullName)
                : write ? SyntheticMsd.Generate(synthetic, new SyntheticMsdOptions())
                : MsdTask.Load(synthetic);
            var patch = dim == 3 ? new Shape3D(side, side, side) : new Shape3D(1, side, side);
            return MsdCache.Prepare(task, Path.Combine(modelDir, dim == 3 ? "cache" : "cache-2d"), new MsdPreprocessingOptions { PatchSize = patch });
        }
        MsdPreparedData? prepared = world is null || world.Rank == 0 ? Prepare(write: true) : null;
        world?.Barrier("the MSD cache");
        prepared ??= Prepare(write: false);
        bool augment = !p.GetValue(o.NoAugment);
        var data = MsdTrainingData.Load(prepared, augment ? MsdAugmentationOptions.Reference : MsdAugmentationOptions.None, dim);
        data.Regions = NnUNetEvaluation.RegionsFor(task!.Labels);
        data.Prediction = prediction;
        var split = fold is { } k ? MsdFolds.Split(k, data.Count) : FoldSplit.All(data.Count);
        summary.Add(("task", $"{(taskDir is null ? "synthetic (generated)" : taskDir.FullName)}: {data.Count} cases, {data.Channels} channel(s), {data.Classes} classes, {shape}"));
        summary.Add(("fold", split.IsAll ? "none (every case trains)" : $"{fold}: {split.Training.Count} training, {split.Validation.Count} validation cases"));

        if (!training)
        {
            if (world is not null && world.Rank != 0) return 0; // evaluate and the inference benchmark: rank 0 alone
            using var loaded = NnUNetModel.Load(checkpoint!, device);
            if (loaded.Options.InputChannels != data.Channels || loaded.Options.Classes != data.Classes)
                throw new ArgumentException($"--checkpoint {checkpoint} takes {loaded.Options.InputChannels} channel(s) and predicts {loaded.Options.Classes} classes; the task has {data.Channels} and {data.Classes}");
            summary.Add(("checkpoint", SummaryTable.Shorten(checkpoint!)));
            if (benchmark) return NnUNetBenchmark.Inference(p, o, loaded, data, split, prediction, device, logDir, summary);
            var items = split.IsAll ? Enumerable.Range(0, data.Count).ToList() : split.Validation;
            if (split.IsAll) summary.Add(("evaluated", $"every case ({items.Count}): with --fold none they all trained the model"));
            using var window = new NnUNetSlidingWindow(loaded, prediction);
            var evaluation = data.Evaluate(window, items);
            Report(summary, evaluation, task.Labels, evaluation.WriteMetrics(modelDir, fold, StepsOf(checkpoint!), data.Ids, task.Labels, prediction));
            SummaryTable.Write(summary);
            return 0;
        }

        manual_seed(seed);
        var spacing = prepared.Plan.TargetSpacing;
        var options = NnUNetPlan.For(dim == 3 ? [side, side, side] : [side, side], dim == 3 ? spacing : [spacing[1], spacing[2]], data.Channels, data.Classes)
            with { BaseFilters = p.GetValue(o.Filters) ?? 32 };
        using var model = new NnUNetModel(options);
        summary.Add(("network", $"{options.Levels} levels, {options.BaseFilters} base filters, {model.ParameterCount:N0} parameters"));
        bool evaluates = mode == "train_and_evaluate";
        long maxSteps = p.GetValue(o.MaxSteps) ?? (benchmark ? NnUNetBenchmark.DefaultWarmup + NnUNetBenchmark.DefaultTimed : 1000);
        var builder = Trainer.For(model)
            .WithAdam(p.GetValue(o.LearningRate) ?? LearningRate)
            .WithWeightDecay(p.GetResult(o.WeightDecay) is { Implicit: false } ? p.GetValue(o.WeightDecay) : WeightDecay)
            .WithSteps(maxSteps, p.GetValue(o.BatchSize) ?? (dim == 3 ? 2 : 16))
            .WithSeed(seed)
            .WithAugmentation(augment)
            .WithMixedPrecision(p.GetValue(o.Amp) ? Precision.BFloat16 : Precision.Float32)
            .OnDevice(device)
            .WithCheckpoints(checkpoints, every: (int)Math.Clamp(maxSteps / 4, 1, 500))
            .WithLogging(p.GetValue(o.LogEvery) ?? 10, evaluates && !benchmark ? p.GetValue(o.EvaluateEvery) : 0, Path.Combine(logDir, "metrics.jsonl"))
            .WithLogger(new ConsoleLogger());
        if (world is not null) builder = builder.WithDataParallel(world);
        using var trainer = builder.Build();
        if (benchmark) return NnUNetBenchmark.Training(p, o, trainer, data, split, maxSteps, logDir, world, summary);
        using var signals = new StopSignals();
        var result = trainer.Fit(data, evaluates ? split : split with { Validation = [] }, resume: true, signals.Token);
        if (!trainer.IsMainRank) return 0;
        summary.Add(("training", $"{result.Steps} steps in {result.Elapsed.TotalMinutes:F1} min{(result.Completed ? "" : " (stopped)")}"));
        if (result.LastCheckpoint is { } c) summary.Add(("checkpoint", SummaryTable.Shorten(c)));
        if (data.LastEvaluation is { } e)
            Report(summary, e, task.Labels, e.WriteMetrics(modelDir, fold, result.Steps, data.Ids, task.Labels, prediction));
        SummaryTable.Write(summary);
        return signals.Received is not null && !result.Completed ? signals.ExitCode : 0;
    }

    /// <summary>The summary rows of an evaluation: the metric line, Dice by class and by region (means over the cases), and the file.</summary>
    private static void Report(List<(string, string)> summary, NnUNetEvaluation e, IReadOnlyList<string> labels, string metricsPath)
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        summary.AddRange(SummaryTable.MetricRows("evaluation", e.Metrics));
        summary.Add(("Dice per class", string.Join(", ", e.ClassDice.Select((d, k) => string.Create(inv, $"{(k + 1 < labels.Count ? labels[k + 1] : $"class {k + 1}")} {d:F4}"))) + $" (mean over {e.Cases.Count} case(s))"));
        if (e.Regions.Count > 0) summary.Add(("Dice per region", string.Join(", ", e.Regions.Select((r, k) => string.Create(inv, $"{r.Name} {e.RegionDice[k]:F4}")))));
        summary.Add(("metrics", SummaryTable.Shorten(metricsPath)));
    }

    /// <summary>The options of an nnU-Net checkpoint, read from its header alone.</summary>
    private sealed record Stored(string Path, int SpatialDims, int PatchSide);

    private static Stored StoredOptions(string path, string flag)
    {
        if (!File.Exists(path)) throw new ArgumentException($"{flag} {path} does not exist");
        var (metadata, _) = Serialization.Safetensors.ReadHeader(path);
        if (!metadata.TryGetValue(NnUNetModel.OptionsMetadataKey, out var json))
            throw new ArgumentException($"{flag} {path} is not an nnU-Net checkpoint (no '{NnUNetModel.OptionsMetadataKey}' metadata)");
        var options = NnUNetOptions.FromJson(json);
        return new Stored(path, options.SpatialDims, options.PatchSize?.Max() ?? 0);
    }

    /// <summary>The step of a trainer's checkpoint from its name (step-N.safetensors), else null.</summary>
    private static long? StepsOf(string path)
    {
        string name = System.IO.Path.GetFileNameWithoutExtension(path);
        return name.StartsWith("step-", StringComparison.Ordinal) && long.TryParse(name["step-".Length..], out long step) ? step : null;
    }
}
