using System.CommandLine;
using System.Diagnostics;
using Spectre.Console;
using System.Text.Json;
using UNet.Segmentation.Benchmarking;
using UNet.Segmentation.Data;
using UNet.Segmentation.Distributed.Mpi;
using UNet.Segmentation.Imaging;
using UNet.Segmentation.Inference;
using UNet.Segmentation.Model;
using UNet.Segmentation.Runtime;
using TorchSharp;
using static TorchSharp.torch;
using UNet.Segmentation.Training;
using UNet.Segmentation.Training.Callbacks;

namespace UNet.Segmentation.Cli;

/// <summary>The root command: the reference's execution modes over the library's public API.</summary>
internal static class RunCommand
{
    private static readonly string[] Modes = ["train", "evaluate", "train_and_evaluate", "predict", "train_and_predict"];

    public static void Configure(RootCommand root, IReadOnlyList<string> args)
    {
        var o = new RunOptions();
        foreach (var option in o.All) root.Options.Add(option);
        root.SetAction(parse =>
        {
            if (parse.GetValue(o.NprocPerNode) is { } n) return CliErrors.Guard(() => Launcher.Run(n, args));
            // Started by mpirun (or srun --mpi=pmix): this process is one rank of a data-parallel job.
            MpiWorld? world = null;
            int code = CliErrors.Guard(() =>
            {
                world = MpiWorld.IsLaunchedByMpi() ? MpiWorld.Initialize() : null;
                if (world is { Size: > 1 }) RankOutput.Install(world.Rank);
                return Run(parse, o, world, args);
            });
            // A rank that fails ends the job at once instead of leaving the others waiting
            // (a stop by signal is no failure: every rank stopped at the same step).
            if (code is not (0 or 130 or 143) && world is { Size: > 1 }) world.Abort(code);
            world?.Dispose();
            return code;
        });
    }

    private static int Run(ParseResult p, RunOptions o, MpiWorld? world, IReadOnlyList<string> args)
    {
        string mode = p.GetValue(o.ExecMode)!;
        if (!Modes.Contains(mode)) throw new ArgumentException($"--exec-mode must be one of {string.Join(", ", Modes)} (got '{mode}')");
        int? fold = DataChoice.ParseFold(p.GetValue(o.Fold)!);
        int patience = p.GetValue(o.EarlyStoppingPatience);
        if (patience < 0) throw new ArgumentException($"--early-stopping-patience must be 0 (off) or more (got {patience})");
        double minDelta = p.GetValue(o.MinDelta);
        if (!double.IsFinite(minDelta) || minDelta < 0) throw new ArgumentException($"--min-delta must be a finite number, 0 or more (got {minDelta})");
        MonitoredMetric monitored;
        try { monitored = MonitoredMetric.Parse(p.GetValue(o.EarlyStoppingMetric)!); }
        catch (ArgumentException e) { throw new ArgumentException($"--early-stopping-metric: {e.Message.Split(" (Parameter")[0]}"); }
        bool training = mode.StartsWith("train", StringComparison.Ordinal);
        if (fold is null) DataChoice.RefuseWithoutValidation(mode, p.GetValue(o.EvaluateEvery), patience, p.GetValue(o.KeepBest), p.GetValue(o.ChallengeScores));
        if ((patience > 0 || p.GetValue(o.KeepBest)) && training && !p.GetValue(o.Benchmark) && mode != "train_and_evaluate")
            throw new ArgumentException($"--early-stopping-patience and --keep-best watch validation metrics: use --exec-mode train_and_evaluate (got {mode})");
        if (patience > 0 && p.GetValue(o.EvaluateEvery) <= 0)
            throw new ArgumentException("--early-stopping-patience needs evaluations during training: give --evaluate-every N");
        if (p.GetValue(o.Augment) && p.GetValue(o.NoAugment)) throw new ArgumentException("--augment and --no-augment contradict each other: give one");
        if (p.GetValue(o.Benchmark) && p.GetValue(o.NoBenchmark)) throw new ArgumentException("--benchmark and --no-benchmark contradict each other: give one");
        if (p.GetValue(o.Amp) && p.GetValue(o.NoAmp)) throw new ArgumentException("--amp and --no-amp contradict each other: give one");
        if (p.GetValue(o.ChannelsLast) && p.GetValue(o.NoChannelsLast)) throw new ArgumentException("--channels-last and --no-channels-last contradict each other: give one");
        if (p.GetValue(o.LrWarmupSteps) is < 0) throw new ArgumentException($"--lr-warmup-steps must be 0 (none) or more (got {p.GetValue(o.LrWarmupSteps)})");
        if (p.GetValue(o.PrefetchBatches) is < 1) throw new ArgumentException($"--prefetch-batches must be at least 1 (got {p.GetValue(o.PrefetchBatches)})");
        var decay = p.GetValue(o.LrSchedule) is { } schedule ? RecipeChoice.ParseDecay(schedule) : (LearningRateDecay?)null;
        var named = p.GetValue(o.Recipe) is { } recipeName ? RecipeChoice.Find(recipeName) : null;
        var device = Devices.Parse(p.GetValue(o.Device)!);
        // The reference's TensorFlow switches: accepted so that its commands run, each with one line saying what runs instead.
        if (p.GetValue(o.Xla)) Console.WriteLine("--xla: libtorch has no XLA compiler; running libtorch's own kernels (cuDNN with its autotuner on CUDA) instead");
        if (p.GetValue(o.Trt)) Console.WriteLine("--use_trt: libtorch has no TensorRT; predicting with libtorch (for TensorRT: unet export writes ONNX, trtexec builds the engine)");
        // One GPU per rank: a bare "cuda" means the rank's own, by its rank on this machine.
        if (world is not null && device.type == DeviceType.CUDA && device.index < 0) device = new Device(DeviceType.CUDA, world.LocalRank);
        if (p.GetValue(o.Tf32) && device.type != DeviceType.CUDA) throw new ArgumentException("--tf32 needs --device cuda");
        string network = p.GetValue(o.Model)!;
        if (network == "nnunet") return NnUNetRun.Run(p, o, world, mode, fold, device);
        if (network != "unet") throw new ArgumentException($"--model must be unet or nnunet (got '{network}')");
        if (p.GetValue(o.Task) is not null) throw new ArgumentException("--task is an MSD task for --model nnunet; the U-Net reads --data-dir");
        var dataDir = p.GetValue(o.DataDir);
        if (dataDir is not null && !dataDir.Exists) throw new ArgumentException($"--data-dir {dataDir.FullName} does not exist");
        var recipe = named ?? RecipeChoice.Default(dataDir);
        string modelDir = p.GetValue(o.ModelDir)!.FullName;
        string checkpoints = Path.Combine(modelDir, "checkpoints");
        string logDir = p.GetValue(o.LogDir)?.FullName ?? modelDir;
        var clock = Stopwatch.StartNew();
        var summary = new List<(string, string)> { ("mode", mode), ("device", device.ToString()), ("libtorch", $"{torch.__version__} (TorchSharp), {torch.get_num_threads()} threads") };
        if (world is not null) summary.Add(("data parallel", $"{world.Size} rank(s) over {world.LibraryVersion}; rank 0 evaluates, predicts and writes checkpoints"));
        if (device.type == DeviceType.CUDA)
        {
            // U-Net shapes repeat every step: let cuDNN pick its fastest algorithms once.
            summary.Add(("cuDNN autotuner", CudnnBenchmark.TrySet(true) ? "on" : "not reachable in this libtorch"));
            Devices.AllowTf32(p.GetValue(o.Tf32));
            summary.Add(("TF32", p.GetValue(o.Tf32) ? "on" : "off"));
        }

        // Checked before anything runs: a bad --overlap is one line, not a failure after training.
        var predictorOptions = new PredictorOptions
        {
            Input = p.GetValue(o.Tiled) ? InputMode.OverlapTile : InputMode.ReferenceResize,
            TileOverlap = p.GetValue(o.Overlap),
            FlipTta = p.GetValue(o.Tta),
            Device = device,
        };
        if (predictorOptions.Validate() is { Count: > 0 } bad) throw new ArgumentException(string.Join("; ", bad).Replace(nameof(PredictorOptions.TileOverlap), "--overlap"));
        var data = DataChoice.Load(dataDir, p.GetValue(o.Classes));
        summary.Add(("data", DataChoice.Describe(data)));
        var split = DataChoice.Split(data, fold);
        summary.Add(("fold", DataChoice.Describe(split)));
        summary.Add(("recipe", $"{recipe.Name} ({recipe.Describe()}); flags override its values"));

        UNetModel model;
        if (mode.StartsWith("train", StringComparison.Ordinal))
        {
            torch.manual_seed(p.GetValue(o.Seed));
            model = new UNetModel(recipe.ApplyTo(UNetOptions.Reference) with
            {
                BaseFilters = p.GetValue(o.Filters) ?? recipe.BaseFilters,
                ChannelsLast = !p.GetValue(o.NoChannelsLast) && (p.GetValue(o.ChannelsLast) || recipe.ChannelsLast),
                InputChannels = data.ImageChannels,
                Classes = data.Classes,
            });
        }
        else
        {
            string path = p.GetValue(o.Checkpoint)?.FullName ?? Checkpoints.Latest(checkpoints)
                ?? throw new ArgumentException($"no checkpoint in {checkpoints}: train first, or give --checkpoint FILE");
            model = UNetModel.Load(path, device);
            summary.Add(("checkpoint", SummaryTable.Shorten(path)));
        }
        using (model)
        {
            var precision = p.GetValue(o.NoAmp) ? Precision.Float32
                : p.GetValue(o.Amp) ? (device.type == DeviceType.CUDA ? Precision.Float16 : Precision.BFloat16)
                : CpuBFloat16.ForDevice(recipe.Precision, device);
            if (precision != recipe.Precision && !p.GetValue(o.NoAmp) && !p.GetValue(o.Amp))
                summary.Add(("precision", $"float32, not the recipe's bfloat16: no AVX512_BF16 or AMX-BF16 on this CPU (--amp forces it)"));
            else if (precision == Precision.BFloat16) BFloat16Warning.IfEmulated(p.GetValue(o.Amp) ? "--amp" : $"--recipe {recipe.Name}", device);
            long maxSteps = p.GetValue(o.MaxSteps) ?? recipe.MaxSteps;
            int batchSize = p.GetValue(o.BatchSize) ?? recipe.BatchSize;
            // Your own images may have any size: training draws tiles of them, prediction slides a window.
            var dataOptions = (data is FolderDataset ? DataOptions.Reference with { InputMode = InputMode.OverlapTile } : DataOptions.Reference)
                with { PrefetchBatches = p.GetValue(o.PrefetchBatches) ?? recipe.PrefetchBatches };
            bool isMainRank = world is null || world.Rank == 0;
            summary.Add(("model", $"{model.Options.BaseFilters} filters, {model.ParameterCount:N0} parameters, {precision}{(model.Options.ChannelsLast ? ", channels-last" : "")}"));

            if (p.GetValue(o.Benchmark))
            {
                int warmup = p.GetValue(o.WarmupSteps) ?? recipe.BenchmarkWarmupSteps;
                if (maxSteps <= warmup) throw new ArgumentException($"--max-steps ({maxSteps}) must exceed --warmup-steps ({warmup}) in benchmark mode");
                if (!isMainRank && !training) return 0;
                BenchmarkReport report;
                int worldSize = world?.Size ?? 1;
                if (training)
                {
                    using var trainer = TrainerFor(model, p, o, recipe, decay, maxSteps, batchSize, dataOptions, precision, device, checkpoints, logDir, world, evaluates: false).Build();
                    report = trainer.Benchmark(data, split, warmup, (int)(maxSteps - warmup));
                }
                else report = InferenceBenchmark.Run(model, batchSize, warmup, (int)(maxSteps - warmup), precision, device);
                if (!isMainRank) return 0;
                Directory.CreateDirectory(logDir);
                string json = Path.Combine(logDir, $"benchmark-{report.Mode}.json");
                File.WriteAllText(json, JsonSerializer.Serialize(report.ReferenceNames(), new JsonSerializerOptions { WriteIndented = true }));
                foreach (var (name, value) in report.ReferenceNames()) summary.Add((name, value.ToString("F3", System.Globalization.CultureInfo.InvariantCulture)));
                if (worldSize > 1) summary.Add(("throughput per rank", $"{report.Throughput / worldSize:F3} img/s"));
                summary.Add(("benchmark", $"{report.MeasuredSteps} steps after {report.WarmupSteps} warm-up, batch {report.BatchSize}, {report.Precision}"));
                summary.Add(("benchmark file", SummaryTable.Shorten(json)));
            }
            else if (training)
            {
                var builder = TrainerFor(model, p, o, recipe, decay, maxSteps, batchSize, dataOptions, precision, device, checkpoints, logDir, world, evaluates: mode == "train_and_evaluate");
                if (patience > 0) builder = builder.WithCallback(new EarlyStopping(patience, minDelta, monitored));
                if (p.GetValue(o.KeepBest)) builder = builder.WithCallback(new KeepBest(monitored));
                string tensorboard = p.GetValue(o.TensorBoard)?.FullName ?? Path.Combine(logDir, "tensorboard");
                string curves = Path.Combine(modelDir, "training-curves.png");
                builder = builder.WithCallback(new TensorBoardCallback(tensorboard)).WithCallback(new TrainingCurves(curves, Path.Combine(logDir, "metrics.jsonl")));
                if (isMainRank) summary.Add(("tensorboard", $"tensorboard --logdir {SummaryTable.Shorten(tensorboard)}"));
                var progress = ConsoleLogger.Plain ? null : new ProgressView();
                if (progress is not null) builder = builder.WithCallback(progress);
                using var trainer = builder.Build();
                summary.Add(("learning rate", RecipeChoice.DescribeRate(trainer.Options)));
                var evaluateFold = mode == "train_and_evaluate" ? split : split with { Validation = [] };
                using var signals = new StopSignals();
                var result = progress is null
                    ? trainer.Fit(data, evaluateFold, resume: true, signals.Token)
                    : progress.Show(trainer.StepsPerRank, () => trainer.Fit(data, evaluateFold, resume: true, signals.Token));
                if (signals.Received is not null && !result.Completed)
                {
                    if (!trainer.IsMainRank) return signals.ExitCode;
                    Console.WriteLine($"stopped by {StopSignals.Name(signals.Received)} at step {result.Steps} of {trainer.StepsPerRank}" +
                        (result.LastCheckpoint is { } saved ? $"; checkpoint {saved}" : ""));
                    if (Environment.GetEnvironmentVariable(Launcher.LaunchedVariable) is null)
                    {
                        // The launcher (--nproc-per-node) prints its own command; a bare mpirun job is started again the same way.
                        Console.WriteLine(world is null
                            ? $"resume with (in {Environment.CurrentDirectory}):"
                            : $"resume with the same mpirun command (in {Environment.CurrentDirectory}) running:");
                        Console.WriteLine($"  {StopSignals.CommandLine(args)}");
                    }
                    return signals.ExitCode;
                }
                if (!trainer.IsMainRank)
                {
                    Console.WriteLine($"trained {result.Steps} steps; rank 0 writes the checkpoint{(mode == "train" ? "" : " and goes on alone")}");
                    return 0;
                }
                summary.Add(("training", $"{result.Steps} steps in {result.Elapsed.TotalMinutes:F1} min{(result.Completed ? "" : result.StopReason is { } why ? $" (stopped: {why})" : " (cancelled)")}"));
                if (result.LastCheckpoint is { } c) summary.Add(("checkpoint", SummaryTable.Shorten(c)));
                // A run that logged no step (fewer steps than --log-every) has no curves to draw.
                if (File.Exists(curves)) summary.Add(("curves", SummaryTable.Shorten(curves)));
                if (trainer.Callbacks.OfType<KeepBest>().FirstOrDefault() is { BestStep: >= 0 } best)
                    summary.Add(("best", $"{best.Metric.Name} {best.Best:F4} at step {best.BestStep}: {SummaryTable.Shorten(best.Path!)}"));
                if (result.FinalEvaluation is { } e)
                {
                    summary.AddRange(SummaryTable.MetricRows("evaluation", e.Metrics));
                    summary.AddRange(ValidationRows.Of(trainer.Evaluator.Report(data, split, modelDir, predictorOptions with { Precision = precision }, result.Steps, e.Metrics)));
                }
            }
            if (!isMainRank) return 0; // evaluate and predict: rank 0 alone
            if (mode == "evaluate" && !p.GetValue(o.Benchmark))
            {
                // No trainer, no optimizer: the model is only read.
                var evaluator = new Evaluator(model, new EvaluatorOptions { BatchSize = batchSize, Precision = precision, Device = device, Data = dataOptions });
                var report = evaluator.Report(data, split, modelDir, predictorOptions with { Precision = precision });
                summary.AddRange(SummaryTable.MetricRows("evaluation", report.Metrics));
                summary.AddRange(ValidationRows.Of(report));
            }
            if (mode.EndsWith("predict", StringComparison.Ordinal) && !p.GetValue(o.Benchmark))
                summary.AddRange(data is FolderDataset folder
                    // Images of any size: always the sliding window.
                    ? Predictions.Folder(model, folder, modelDir, predictorOptions with { Precision = precision, Input = InputMode.OverlapTile })
                    : Predictions.IsbiVolume(model, (IsbiDataset)data, dataDir, modelDir, predictorOptions with { Precision = precision }));
        }
        summary.Add(("wall time", $"{clock.Elapsed.TotalMinutes:F1} min"));
        SummaryTable.Write(summary);
        return 0;
    }

    /// <summary>
    /// The trainer of the train modes and the training benchmark (evaluate and predict build none):
    /// the recipe, then each flag given over it. <paramref name="evaluates"/>: the fit keeps its
    /// validation slices (train_and_evaluate), so --evaluate-every and --challenge-scores apply.
    /// </summary>
    private static TrainerBuilder TrainerFor(UNetModel model, ParseResult p, RunOptions o, TrainingRecipe recipe, LearningRateDecay? decay, long maxSteps, int batchSize,
        DataOptions dataOptions, Precision precision, Device device, string checkpoints, string logDir, MpiWorld? world, bool evaluates)
    {
        var builder = Trainer.For(model)
            .WithRecipe(recipe)
            .WithAdam(p.GetValue(o.LearningRate) ?? recipe.LearningRate)
            .WithLearningRateDecay(decay ?? recipe.LearningRateDecay, p.GetValue(o.LrWarmupSteps) ?? recipe.LearningRateWarmupSteps)
            .WithWeightDecay(p.GetValue(o.WeightDecay))
            .WithSteps(maxSteps, batchSize)
            .WithSeed(p.GetValue(o.Seed))
            .WithData(dataOptions)
            .WithAugmentation(!p.GetValue(o.NoAugment) && (p.GetValue(o.Augment) || recipe.Augment))
            .WithMixedPrecision(precision)
            .OnDevice(device)
            .WithCheckpoints(checkpoints, every: (int)Math.Clamp(maxSteps / 4, 1, 500))
            .WithLogging(p.GetValue(o.LogEvery) ?? recipe.LogEvery, evaluates ? p.GetValue(o.EvaluateEvery) : 0, Path.Combine(logDir, "metrics.jsonl"))
            .WithChallengeScores(evaluates && p.GetValue(o.ChallengeScores))
            .WithLogger(new ConsoleLogger());
        return world is null ? builder : builder.WithDataParallel(world);
    }
}
