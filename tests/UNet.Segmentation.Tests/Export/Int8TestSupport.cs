using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using UNet.Segmentation.Export;
using UNet.Segmentation.Export.Onnx;
using UNet.Segmentation.Inference;
using UNet.Segmentation.Model;

namespace UNet.Segmentation.Tests.Export;

/// <summary>Calibration images, int8 exports and what ONNX Runtime makes of them (its optimized graph, its profile).</summary>
internal static class Int8TestSupport
{
    /// <summary>
    /// <paramref name="count"/> grey or colour images of <paramref name="size"/>² with smooth
    /// structure and noise, in [−1, 1], named "calibration-i".
    /// </summary>
    public static IReadOnlyList<CalibrationImage> Images(int count, int channels = 1, int size = 64, int seed = 1)
    {
        var random = new Random(seed);
        var result = new List<CalibrationImage>();
        for (int i = 0; i < count; i++)
        {
            var data = new float[channels * size * size];
            double fx = 0.05 + random.NextDouble() * 0.3, fy = 0.05 + random.NextDouble() * 0.3, phase = random.NextDouble() * 6;
            for (int c = 0; c < channels; c++)
                for (int y = 0; y < size; y++)
                    for (int x = 0; x < size; x++)
                        data[(c * size + y) * size + x] = (float)Math.Clamp(0.7 * Math.Sin(fx * x + phase + c) * Math.Cos(fy * y) + 0.3 * (random.NextDouble() * 2 - 1), -1, 1);
            result.Add(new CalibrationImage($"calibration-{i}", new FloatImages(data, 1, channels, size, size)));
        }
        return result;
    }

    public static OnnxExportOptions Int8(IReadOnlyList<CalibrationImage> images, CalibrationMethod method = CalibrationMethod.Percentile) =>
        new() { Int8 = new Int8Quantization { Calibration = images, Method = method } };

    /// <summary>The graph ONNX Runtime runs after its optimizations (ORT_ENABLE_ALL, CPU): op types with their counts, "domain:Op" for contrib operators.</summary>
    public static Dictionary<string, int> OptimizedOperators(string model, string optimizedPath)
    {
        using (var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, OptimizedModelFilePath = optimizedPath, IntraOpNumThreads = 1 })
        using (new InferenceSession(model, options))
        {
        }
        var graph = ModelProto.Parser.ParseFrom(File.ReadAllBytes(optimizedPath)).Graph;
        return graph.Node.GroupBy(n => string.IsNullOrEmpty(n.Domain) ? n.OpType : $"{n.Domain}:{n.OpType}")
            .ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
    }

    /// <summary>One node ONNX Runtime ran: its operator, node name, the element type of each input ("uint8", "float", …) and its kernel time.</summary>
    public sealed record ProfiledNode(string Op, string Name, IReadOnlyList<string> InputTypes, double Microseconds);

    /// <summary>
    /// The nodes ONNX Runtime's profiler saw run for one forward of <paramref name="input"/> (its
    /// "Node" events named "…_kernel_time": op_name, input_type_shape, dur), in the order they ran.
    /// </summary>
    public static IReadOnlyList<ProfiledNode> Profile(string model, float[] input, long[] shape, string profilePrefix)
    {
        string profile;
        using (var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, EnableProfiling = true, ProfileOutputPathPrefix = profilePrefix, IntraOpNumThreads = 1 })
        using (var session = new InferenceSession(model, options))
        {
            using var value = OrtValue.CreateTensorValueFromMemory(input, shape);
            using var run = new RunOptions();
            using (session.Run(run, [OnnxExport.InputName], [value], [OnnxExport.ProbabilitiesName])) { }
            profile = session.EndProfiling();
        }
        using var document = JsonDocument.Parse(File.ReadAllText(profile));
        var events = document.RootElement.ValueKind == JsonValueKind.Array ? document.RootElement : document.RootElement.GetProperty("traceEvents");
        var nodes = new List<ProfiledNode>();
        foreach (var e in events.EnumerateArray())
            if (e.TryGetProperty("cat", out var cat) && cat.GetString() == "Node"
                && e.TryGetProperty("args", out var args) && args.TryGetProperty("op_name", out var op))
            {
                string name = e.GetProperty("name").GetString()!;
                if (!name.EndsWith("_kernel_time", StringComparison.Ordinal)) continue;
                // input_type_shape: [{"uint8": [1, 64, 30, 30]}, …], one object per input.
                var types = args.TryGetProperty("input_type_shape", out var inputs)
                    ? inputs.EnumerateArray().SelectMany(i => i.EnumerateObject().Select(p => p.Name)).ToList()
                    : new List<string>();
                nodes.Add(new ProfiledNode(op.GetString()!, name[..^"_kernel_time".Length], types, e.GetProperty("dur").GetDouble()));
            }
        return nodes;
    }

    /// <summary>The operators of <paramref name="nodes"/> with how many nodes of each ran.</summary>
    public static Dictionary<string, int> Count(IEnumerable<ProfiledNode> nodes) =>
        nodes.GroupBy(n => n.Op, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Select(n => n.Name).Distinct(StringComparer.Ordinal).Count(), StringComparer.Ordinal);

    /// <summary>The operators ONNX Runtime's profiler saw run for one forward of <paramref name="input"/>, with how many nodes of each ran.</summary>
    public static Dictionary<string, int> ProfiledOperators(string model, float[] input, long[] shape, string profilePrefix) =>
        Count(Profile(model, input, shape, profilePrefix));

    public static string Describe(Dictionary<string, int> operators) =>
        string.Join(' ', operators.OrderBy(o => o.Key, StringComparer.Ordinal).Select(o => $"{o.Key}={o.Value}"));
}
