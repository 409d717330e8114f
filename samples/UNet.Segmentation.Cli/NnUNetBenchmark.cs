using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using UNet.Segmentation.Benchmarking;
using UNet.Segmentation.Data;
using UNet.Segmentation.Distributed.Mpi;
using UNet.Segmentation.Inference.NnUNet;
using UNet.Segmentation.Model.NnUNet;
using UNet.Segmentation.Training;
using static TorchSharp.torch;

namespace UNet.Segmentation.Cli;

/// <summary>
/// <c>unet --model nnunet --benchmark</c>: the U-Net's benchmark mode for the nnU-Net, in the same
/// files (&lt;log-dir&gt;/benchmark-&lt;mode&gt;.json with the reference's names) and summary rows.
/// A train mode times training steps on the task's patches (benchmark-train.json, patches/s);
/// evaluate or predict time a checkpoint's forward passes on batches of patches
/// (benchmark-test.json, patches/s) and its sliding-window prediction of whole preprocessed
/// volumes (benchmark-predict.json, volumes/s). Warm-up steps (--warmup-steps) run untimed.
/// </summary>
internal static class NnUNetBenchmark
{
    /// <summary>The warm-up steps and timed steps when --warmup-steps / --max-steps are not given.</summary>
    public const int DefaultWarmup = 5, DefaultTimed = 20;

    public static int Training(ParseResult p, RunOptions o, Trainer trainer, MsdTrainingData data, FoldSplit split, long maxSteps, string logDir, MpiWorld? world, List<(string, string)> summary)
    {
        int warmup = Warmup(p, o, maxSteps);
        var report = trainer.Benchmark(data, split, warmup, (int)(maxSteps - warmup));
        if (!trainer.IsMainRank) return 0;
        Add(summary, report, logDir, "patches");
        if (world is { Size: > 1 }) summary.Add(("throughput per rank", $"{report.Throughput / world.Size:F3} patches/s"));
        SummaryTable.Write(summary);
        return 0;
    }

    public static int Inference(ParseResult p, RunOptions o, NnUNetModel model, MsdTrainingData data, FoldSplit split, NnUNetPredictionOptions prediction, Device device,
        string logDir, List<(string, string)> summary)
    {
        long maxSteps = p.GetValue(o.MaxSteps) ?? DefaultWarmup + DefaultTimed;
        int warmup = Warmup(p, o, maxSteps);
        int batch = p.GetValue(o.BatchSize) ?? prediction.BatchSize;
        var patches = NnUNetInferenceBenchmark.Patches(model, batch, warmup, (int)(maxSteps - warmup), device);
        Add(summary, patches, logDir, "patches");
        // Whole volumes: the fold's validation cases (every case without a fold), one warm-up volume, each timed once.
        var items = split.IsAll ? Enumerable.Range(0, data.Count).ToList() : split.Validation;
        using var window = new NnUNetSlidingWindow(model, prediction);
        var volumes = NnUNetInferenceBenchmark.Volumes(window, items.Select(i => data.Cases[i].Image).ToList(), 1, items.Count);
        Add(summary, volumes, logDir, "volumes");
        SummaryTable.Write(summary);
        return 0;
    }

    private static int Warmup(ParseResult p, RunOptions o, long maxSteps)
    {
        int warmup = p.GetValue(o.WarmupSteps) ?? DefaultWarmup;
        if (warmup < 0) throw new ArgumentException($"--warmup-steps must be 0 or more (got {warmup})");
        if (maxSteps <= warmup) throw new ArgumentException($"--max-steps ({maxSteps}) must exceed --warmup-steps ({warmup}) in benchmark mode");
        return warmup;
    }

    /// <summary>Writes benchmark-&lt;mode&gt;.json as the U-Net's benchmark mode does and adds its rows.</summary>
    private static void Add(List<(string, string)> summary, BenchmarkReport report, string logDir, string unit)
    {
        Directory.CreateDirectory(logDir);
        string json = Path.Combine(logDir, $"benchmark-{report.Mode}.json");
        File.WriteAllText(json, JsonSerializer.Serialize(report.ReferenceNames(), new JsonSerializerOptions { WriteIndented = true }));
        foreach (var (name, value) in report.ReferenceNames()) summary.Add((name, value.ToString("F3", CultureInfo.InvariantCulture)));
        summary.Add(($"benchmark {report.Mode}", $"{report.Throughput.ToString("F3", CultureInfo.InvariantCulture)} {unit}/s; {report.MeasuredSteps} steps after {report.WarmupSteps} warm-up, batch {report.BatchSize}, {report.Precision}"));
        summary.Add(("benchmark file", SummaryTable.Shorten(json)));
    }
}
