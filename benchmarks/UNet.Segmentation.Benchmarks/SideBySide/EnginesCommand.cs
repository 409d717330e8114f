using System.Diagnostics;
using System.Text.Json;
using UNet.Segmentation.Export;
using UNet.Segmentation.Inference;
using UNet.Segmentation.Model;
using UNet.Segmentation.Onnx;
using static TorchSharp.torch;

namespace UNet.Segmentation.Benchmarks.SideBySide;

/// <summary>
/// <c>engines [--filters 64] [--threads 2] [--warmup 1] [--steps 3] [--int8 [--calibration DATA]]</c>:
/// the same reference U-Net (random weights, float32) on our TorchSharp predictor and on ONNX
/// Runtime through the exported file, in one process, alternating which goes first each round.
/// With <c>--int8</c> a third engine joins: ONNX Runtime on the int8 (QDQ) export of the same
/// weights, calibrated on 8 images of <c>--calibration DATA</c> (what <c>unet export --int8</c>
/// reads), or without it on 8 random 512² slices. Times (1) one network pass of a
/// 1×1×572×572 input with its soft-max and (2) one 512×512 slice through each predictor's
/// reference path (<c>PredictSlice</c>: resize, pass, resize back). Prints one JSON line: mean
/// images/s of each (as the reference computes throughput: the mean of per-step images/s) and
/// ONNX Runtime / TorchSharp.
/// </summary>
public static class EnginesCommand
{
    public static int Run(IReadOnlyList<string> args)
    {
        int filters = 64, threads = Environment.ProcessorCount, warmup = 1, steps = 3;
        bool int8 = false;
        string? calibration = null;
        for (int i = 0; i < args.Count; i += 2)
        {
            if (args[i] == "--int8") { int8 = true; i--; continue; }
            if (i + 1 >= args.Count) return Fail($"{args[i]} needs a value");
            if (args[i] == "--calibration") { calibration = args[i + 1]; continue; }
            if (!int.TryParse(args[i + 1], out int v) || v < (args[i] == "--warmup" ? 0 : 1)) return Fail($"{args[i]} {args[i + 1]} is not a valid count");
            switch (args[i])
            {
                case "--filters": filters = v; break;
                case "--threads": threads = v; break;
                case "--warmup": warmup = v; break;
                case "--steps": steps = v; break;
                default: return Fail($"unknown option {args[i]} (--filters, --threads, --warmup, --steps, --int8, --calibration)");
            }
        }
        set_num_threads(threads);
        if (calibration is not null && !int8) return Fail("--calibration goes with --int8");
        string onnxPath = Path.Combine(Path.GetTempPath(), $"unet-engines-{Environment.ProcessId}.onnx");
        string int8Path = Path.ChangeExtension(onnxPath, ".int8.onnx");
        try
        {
            manual_seed(0);
            using var model = new UNetModel(UNetOptions.Reference with { BaseFilters = filters });
            OnnxExport.Save(model, onnxPath);
            using var torchPredictor = new Predictor(model, PredictorOptions.Reference with { BatchSize = 1 });
            using var onnxPredictor = OnnxPredictor.Load(onnxPath, OnnxPredictorOptions.Reference with { BatchSize = 1, Threads = threads });
            var random = new Random(1);
            using var int8Predictor = int8 ? LoadInt8(model, int8Path, calibration, threads, random) : null;
            var input = new float[572 * 572];
            for (int i = 0; i < input.Length; i++) input[i] = (float)(random.NextDouble() * 2 - 1);
            var slice = new byte[512 * 512];
            random.NextBytes(slice);
            var tile = new FloatImages(input, 1, 1, 572, 572);

            var work = new Dictionary<string, Action>
            {
                ["torch_pass"] = () => TorchPass(model, input),
                ["onnx_pass"] = () => onnxPredictor.RunNetwork(tile),
                ["torch_slice"] = () => torchPredictor.PredictSlice(slice, 512, 512),
                ["onnx_slice"] = () => onnxPredictor.PredictSlice(slice, 512, 512),
            };
            if (int8Predictor is not null)
            {
                work["int8_pass"] = () => int8Predictor.RunNetwork(tile);
                work["int8_slice"] = () => int8Predictor.PredictSlice(slice, 512, 512);
            }
            var timings = work.Keys.ToDictionary(name => name, _ => new List<double>());
            for (int round = 0; round < warmup + steps; round++)
            {
                var order = round % 2 == 0 ? work.Keys.ToArray() : work.Keys.Reverse().ToArray();
                foreach (string name in order)
                {
                    var clock = Stopwatch.StartNew();
                    work[name]();
                    if (round >= warmup) timings[name].Add(clock.Elapsed.TotalSeconds);
                }
            }
            double Rate(string name) => timings[name].Average(s => 1 / s);
            var result = new Dictionary<string, object>
            {
                ["filters"] = filters, ["threads"] = threads, ["warmup"] = warmup, ["steps"] = steps,
                ["torch_pass_images_per_s"] = Rate("torch_pass"), ["onnx_pass_images_per_s"] = Rate("onnx_pass"),
                ["torch_slice_images_per_s"] = Rate("torch_slice"), ["onnx_slice_images_per_s"] = Rate("onnx_slice"),
                ["onnx_over_torch_pass"] = Rate("onnx_pass") / Rate("torch_pass"),
                ["onnx_over_torch_slice"] = Rate("onnx_slice") / Rate("torch_slice"),
                ["onnx_file_mb"] = new FileInfo(onnxPath).Length / 1e6,
            };
            if (int8Predictor is not null)
            {
                result["int8_pass_images_per_s"] = Rate("int8_pass");
                result["int8_slice_images_per_s"] = Rate("int8_slice");
                result["int8_over_onnx_pass"] = Rate("int8_pass") / Rate("onnx_pass");
                result["int8_over_onnx_slice"] = Rate("int8_slice") / Rate("onnx_slice");
                result["int8_file_mb"] = new FileInfo(int8Path).Length / 1e6;
                result["int8_calibration"] = calibration ?? "8 random 512x512 slices";
            }
            Console.WriteLine(JsonSerializer.Serialize(result));
            return 0;
        }
        finally
        {
            File.Delete(onnxPath);
            File.Delete(int8Path);
        }
    }

    /// <summary>The int8 export of <paramref name="model"/> on ONNX Runtime, calibrated on 8 images of <paramref name="calibration"/> or on 8 random slices.</summary>
    private static OnnxPredictor LoadInt8(UNetModel model, string path, string? calibration, int threads, Random random)
    {
        IReadOnlyList<CalibrationImage> images = calibration is not null
            ? CalibrationImages.Load(calibration, count: 8)
            : [.. Enumerable.Range(0, 8).Select(i =>
            {
                var pixels = new byte[512 * 512];
                random.NextBytes(pixels);
                return CalibrationImage.FromGrayBytes($"random-{i}", pixels, 512, 512);
            })];
        OnnxExport.Save(model, path, new OnnxExportOptions { Int8 = new Int8Quantization { Calibration = images } });
        return OnnxPredictor.Load(path, OnnxPredictorOptions.Reference with { BatchSize = 1, Threads = threads });
    }

    /// <summary>One pass as the side-by-side inference step: inference mode, forward, soft-max, one number read back.</summary>
    private static void TorchPass(UNetModel model, float[] input)
    {
        model.eval();
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        var p = model.call(tensor(input, [1, 1, 572, 572])).softmax(1);
        _ = p[0, 0, 0, 0].item<float>();
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine($"engines: {message}");
        return 2;
    }
}
