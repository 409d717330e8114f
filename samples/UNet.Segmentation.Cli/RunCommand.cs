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
                return Run(parse, o, world);
            });
            // A rank that fails ends the job at once instead of leaving the others waiting.
            if (code != 0 && world is { Size: > 1 }) world.Abort(code);
            world?.Dispose();
            return code;
        });
    }

    private static int Run(ParseResult p, RunOptions o, MpiWorld? world)
    {
        string mode = p.GetValue(o.ExecMode)!;
        if (!Modes.Contains(mode)) throw new ArgumentException($"--exec-mode must be one of {string.Join(", ", Modes)} (got '{mode}')");
        int fold = p.GetValue(o.Fold);
        if (fold is < 0 or > 4) throw new ArgumentException($"--fold must lie in 0..4 (got {fold})");
        var device = Devices.Parse(p.GetValue(o.Device)!);
        // One GPU per rank: a bare "cuda" means the rank's own, by its rank on this machine.
        if (world is not null && device.type == DeviceType.CUDA && device.index < 0) device = new Device(DeviceType.CUDA, world.LocalRank);
        if (p.GetValue(o.Tf32) && device.type != DeviceType.CUDA) throw new ArgumentException("--tf32 needs --device cuda");
        var dataDir = p.GetValue(o.DataDir);
        if (dataDir is not null && !dataDir.Exists) throw new ArgumentException($"--data-dir {dataDir.FullName} does not exist");
        var recipe = dataDir is null ? Recipe.CpuSynthetic : Recipe.Reference;
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
            Input = p.GetValue(o.Tiled) ? PredictionInput.SlidingWindow : PredictionInput.ReferenceResize,
            TileOverlap = p.GetValue(o.Overlap),
            FlipTta = p.GetValue(o.Tta),
            Device = device,
        };
        if (predictorOptions.Validate() is { Count: > 0 } bad) throw new ArgumentException(string.Join("; ", bad).Replace(nameof(PredictorOptions.TileOverlap), "--overlap"));
        var data = DataChoice.Load(dataDir, p.GetValue(o.Classes));
        summary.Add(("data", DataChoice.Describe(data)));
        var split = data.Fold(fold);

        UNetModel model;
        if (mode.StartsWith("train", StringComparison.Ordinal))
        {
            torch.manual_seed(p.GetValue(o.Seed));
            model = new UNetModel(UNetOptions.Reference with { BaseFilters = p.GetValue(o.Filters) ?? recipe.Filters, InputChannels = data.ImageChannels, Classes = data.Classes });
        }
        else
        {
            string path = p.GetValue(o.Checkpoint)?.FullName ?? Checkpoints.Latest(checkpoints)
                ?? throw new ArgumentException($"no checkpoint in {checkpoints}: train first, or give --checkpoint FILE");
            model = UNetModel.Load(path, device);
            summary.Add(("checkpoint", path));
        }
        using (model)
        {
            var precision = !p.GetValue(o.Amp) ? Precision.Float32 : device.type == DeviceType.CUDA ? Precision.Float16 : Precision.BFloat16;
            long maxSteps = p.GetValue(o.MaxSteps) ?? recipe.MaxSteps;
            var builder = Trainer.For(model)
                .WithAdam(p.GetValue(o.LearningRate) ?? recipe.LearningRate)
                .WithWeightDecay(p.GetValue(o.WeightDecay))
                .WithSteps(maxSteps, p.GetValue(o.BatchSize) ?? recipe.BatchSize)
                .WithSeed(p.GetValue(o.Seed))
                // Your own images may have any size: training draws tiles of them, prediction slides a window.
                .WithData(data is FolderDataset ? DataOptions.Reference with { InputMode = InputMode.OverlapTile } : DataOptions.Reference)
                .WithAugmentation(p.GetValue(o.Augment) || dataDir is null)
                .WithMixedPrecision(precision)
                .OnDevice(device)
                .WithCheckpoints(checkpoints, every: (int)Math.Clamp(maxSteps / 4, 1, 500))
                .WithLogging(p.GetValue(o.LogEvery) ?? recipe.LogEvery, p.GetValue(o.EvaluateEvery), Path.Combine(logDir, "metrics.jsonl"))
                .WithLogger(new ConsoleLogger());
            if (world is not null) builder = builder.WithDataParallel(world);
            using var trainer = builder.Build();
            summary.Add(("model", $"{model.Options.BaseFilters} filters, {model.ParameterCount:N0} parameters, {precision}"));

            if (p.GetValue(o.Benchmark))
            {
                int warmup = p.GetValue(o.WarmupSteps) ?? recipe.WarmupSteps;
                if (maxSteps <= warmup) throw new ArgumentException($"--max-steps ({maxSteps}) must exceed --warmup-steps ({warmup}) in benchmark mode");
                bool training = mode.StartsWith("train", StringComparison.Ordinal);
                if (!trainer.IsMainRank && !training) return 0;
                var report = training
                    ? trainer.Benchmark(data, split, warmup, (int)(maxSteps - warmup))
                    : InferenceBenchmark.Run(model, trainer.Options.BatchSize, warmup, (int)(maxSteps - warmup), precision, device);
                if (!trainer.IsMainRank) return 0;
                Directory.CreateDirectory(logDir);
                string json = Path.Combine(logDir, $"benchmark-{report.Mode}.json");
                File.WriteAllText(json, JsonSerializer.Serialize(report.ReferenceNames(), new JsonSerializerOptions { WriteIndented = true }));
                foreach (var (name, value) in report.ReferenceNames()) summary.Add((name, value.ToString("F3", System.Globalization.CultureInfo.InvariantCulture)));
                if (trainer.WorldSize > 1) summary.Add(("throughput per rank", $"{report.Throughput / trainer.WorldSize:F3} img/s"));
                summary.Add(("benchmark", $"{report.MeasuredSteps} steps after {report.WarmupSteps} warm-up, batch {report.BatchSize}, {report.Precision}; {json}"));
            }
            else if (mode.StartsWith("train", StringComparison.Ordinal))
            {
                var evaluateFold = mode == "train_and_evaluate" ? split : split with { Validation = [] };
                var result = trainer.Fit(data, evaluateFold);
                if (!trainer.IsMainRank)
                {
                    Console.WriteLine($"trained {result.Steps} steps; rank 0 writes the checkpoint{(mode == "train" ? "" : " and goes on alone")}");
                    return 0;
                }
                summary.Add(("training", $"{result.Steps} steps in {result.Elapsed.TotalMinutes:F1} min{(result.Completed ? "" : " (cancelled)")}"));
                if (result.LastCheckpoint is { } c) summary.Add(("checkpoint", c));
                if (result.FinalEvaluation is { } e)
                {
                    summary.Add(("evaluation", e.Metrics.ToString()));
                    summary.AddRange(ValidationReport.Write(model, data, split, e.Metrics, predictorOptions with { Precision = precision }, modelDir, result.Steps));
                }
            }
            if (!trainer.IsMainRank) return 0; // evaluate and predict: rank 0 alone
            if (mode == "evaluate" && !p.GetValue(o.Benchmark))
            {
                var metrics = trainer.Evaluate(data, split.Validation);
                summary.Add(("evaluation", metrics.ToString()));
                summary.AddRange(ValidationReport.Write(model, data, split, metrics, predictorOptions with { Precision = precision }, modelDir, null));
            }
            if (mode.EndsWith("predict", StringComparison.Ordinal) && !p.GetValue(o.Benchmark))
                summary.AddRange(data is FolderDataset folder
                    // Images of any size: always the sliding window.
                    ? Predictions.Folder(model, folder, modelDir, predictorOptions with { Precision = precision, Input = PredictionInput.SlidingWindow })
                    : Predictions.IsbiVolume(model, (IsbiDataset)data, dataDir, modelDir, predictorOptions with { Precision = precision }));
        }
        summary.Add(("wall time", $"{clock.Elapsed.TotalMinutes:F1} min"));
        var table = new Table().AddColumn("").AddColumn("result");
        foreach (var (k, v) in summary) table.AddRow(Markup.Escape(k), Markup.Escape(v));
        // Piped (logs, CI): no wrapping at 80 columns inside paths and metric lines.
        if (Console.IsOutputRedirected) AnsiConsole.Profile.Width = Math.Max(AnsiConsole.Profile.Width, 240);
        AnsiConsole.Write(table);
        return 0;
    }
}
