using Microsoft.ML.OnnxRuntime;
using TorchSharp;
using TorchSharp.Modules;
using UNet.Segmentation.Export;
using UNet.Segmentation.Model;
using static TorchSharp.torch;

namespace UNet.Segmentation.Tests.Export;

/// <summary>Small U-Nets with random weights for the export tests, and ONNX Runtime as the peer that runs what was written.</summary>
internal static class OnnxTestSupport
{
    /// <summary>One option set under test and two valid (height, width) pairs for it, the second not square.</summary>
    internal sealed record Case(string Name, UNetOptions Options, (int H, int W) First, (int H, int W) Second);

    private static readonly UNetOptions Tiny = UNetOptions.Reference with { BaseFilters = 4, Depth = 2, InputSize = 44, Initialization = WeightInit.PyTorchDefault };

    /// <summary>The option sets: every branch of the graph (padding, up-sampling, batch norm, depth, channels, classes, memory layout).</summary>
    public static IReadOnlyDictionary<string, Case> Cases { get; } = new[]
    {
        // Depth 2 with valid padding: valid sizes 44, 48, 52, … (every 4).
        new Case("reference", Tiny, (44, 44), (48, 56)),
        new Case("same", Tiny with { Padding = ConvPadding.Same, InputSize = 32 }, (32, 32), (24, 40)),
        new Case("paper", Tiny with { Upsampling = Upsampling.TransposedConv2x2 }, (44, 44), (56, 48)),
        new Case("batchnorm", Tiny with { BatchNorm = true }, (44, 44), (52, 48)),
        // Depth 3: valid sizes 92, 100, 108, … (every 8).
        new Case("depth3-rgb-3classes", Tiny with { Depth = 3, InputChannels = 3, Classes = 3, InputSize = 92 }, (92, 92), (100, 108)),
        new Case("channels-last", Tiny with { ChannelsLast = true, BatchNorm = true, Classes = 3 }, (44, 44), (52, 44)),
        new Case("same-2x2-depth3", Tiny with { Padding = ConvPadding.Same, Upsampling = Upsampling.TransposedConv2x2, Depth = 3, InputSize = 32 }, (32, 32), (16, 40)),
    }.ToDictionary(c => c.Name);

    public static TheoryData<string> CaseNames() => new(Cases.Keys);

    /// <summary>
    /// A model of <paramref name="options"/> with random weights and biases (PyTorch's default
    /// init); with batch norm also random affine parameters and running statistics moved away
    /// from 0 and 1 by a few training-mode forwards. Returned in eval mode.
    /// </summary>
    public static UNetModel RandomModel(UNetOptions options, int seed = 7)
    {
        manual_seed(seed);
        var model = new UNetModel(options);
        if (options.BatchNorm)
        {
            using var scope = NewDisposeScope();
            using (no_grad())
                foreach (var (name, p) in model.named_parameters().Where(p => p.name.Contains(".bn", StringComparison.Ordinal)))
                    p.copy_(name.EndsWith("weight", StringComparison.Ordinal) ? rand(p.shape) + 0.5 : randn(p.shape) * 0.2);
            model.train();
            int size = options.InputSize;
            for (int i = 0; i < 3; i++)
                model.forward(randn(2, options.InputChannels, size, size) * 2 + 0.5);
        }
        model.eval();
        return model;
    }

    /// <summary>Every batch-norm layer of the model (none without batch norm).</summary>
    public static IEnumerable<BatchNorm2d> BatchNorms(UNetModel model) =>
        model.named_modules().Select(m => m.module).OfType<BatchNorm2d>();

    /// <summary>TorchSharp's eval forward: (probabilities, logits) as float arrays, and the output shape.</summary>
    public static (float[] Probabilities, float[] Logits, long[] Shape) TorchForward(UNetModel model, Tensor image)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var logits = model.forward(image);
        var probabilities = logits.softmax(1);
        return (probabilities.data<float>().ToArray(), logits.contiguous().data<float>().ToArray(), logits.shape);
    }

    /// <summary>ONNX Runtime's (probabilities, logits) for one input and the shapes it reports for them.</summary>
    public static (float[] Probabilities, float[] Logits, long[] ProbabilitiesShape, long[] LogitsShape) OnnxForward(InferenceSession session, float[] image, long[] shape)
    {
        using var input = OrtValue.CreateTensorValueFromMemory(image, shape);
        using var run = new RunOptions();
        using var outputs = session.Run(run, [OnnxExport.InputName], [input], [OnnxExport.ProbabilitiesName, OnnxExport.LogitsName]);
        return (outputs[0].GetTensorDataAsSpan<float>().ToArray(), outputs[1].GetTensorDataAsSpan<float>().ToArray(),
            outputs[0].GetTensorTypeAndShape().Shape, outputs[1].GetTensorTypeAndShape().Shape);
    }

    public static double MaxAbsDiff(float[] a, float[] b)
    {
        Assert.Equal(a.Length, b.Length);
        double max = 0;
        for (int i = 0; i < a.Length; i++) max = Math.Max(max, Math.Abs((double)a[i] - b[i]));
        return max;
    }
}
