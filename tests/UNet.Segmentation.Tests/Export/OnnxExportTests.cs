using System.Reflection;
using Microsoft.ML.OnnxRuntime;
using TorchSharp;
using UNet.Segmentation.Export;
using UNet.Segmentation.Export.Onnx;
using UNet.Segmentation.Model;
using UNet.Segmentation.Model.Precision;
using UNet.Segmentation.Tests.Imaging;
using UNet.Segmentation.Tests.Shared;
using static TorchSharp.torch;
using static UNet.Segmentation.Tests.Export.OnnxTestSupport;

namespace UNet.Segmentation.Tests.Export;

/// <summary>
/// <see cref="OnnxExport.Save"/>: ONNX Runtime 1.31.1 computes from the written file what
/// TorchSharp's eval forward computes, at two sizes and two batch sizes from one file; the file
/// holds the graph, weights and metadata it should.
/// </summary>
[Collection("LiveTensors")]
public sealed class OnnxExportTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [MemberData(nameof(CaseNames), MemberType = typeof(OnnxTestSupport))]
    public void OnnxRuntime_MatchesTorchSharpsEvalForward_AtTwoSizesAndBatchOneAndTwo_FromOneFile(string name)
    {
        var c = Cases[name];
        using var model = RandomModel(c.Options);
        if (c.Options.BatchNorm)
            using (NewDisposeScope())
                Assert.All(BatchNorms(model), bn => Assert.True((bn.running_var! - 1).abs().max().item<float>() > 0.05, "the running variances are still 1: the test would not see them"));
        string path = _dir.File($"{name}.onnx");
        var result = OnnxExport.Save(model, path);
        Assert.Equal(new FileInfo(path).Length, result.Bytes);

        using var session = new InferenceSession(path);
        int seed = 100;
        foreach (var (h, w) in new[] { c.First, c.Second })
            foreach (int batch in new[] { 1, 2 })
            {
                using var scope = NewDisposeScope();
                manual_seed(seed++);
                var image = randn(batch, c.Options.InputChannels, h, w);
                var expected = TorchForward(model, image);
                var actual = OnnxForward(session, image.data<float>().ToArray(), image.shape);
                long[] shape = [batch, c.Options.Classes, c.Options.OutputSize(h), c.Options.OutputSize(w)];
                Assert.Equal(shape, expected.Shape);
                Assert.Equal(shape, actual.LogitsShape);
                Assert.Equal(shape, actual.ProbabilitiesShape);
                double logits = MaxAbsDiff(expected.Logits, actual.Logits), probabilities = MaxAbsDiff(expected.Probabilities, actual.Probabilities);
                Assert.True(logits <= 1e-4, $"{name} {batch}x{h}x{w}: logits differ by {logits:E2}");
                Assert.True(probabilities <= 1e-4, $"{name} {batch}x{h}x{w}: probabilities differ by {probabilities:E2}");
            }
    }

    [Fact]
    public void OnnxRuntime_ReadsTheOptionsTheFormatAndTheDynamicAxes()
    {
        var c = Cases["depth3-rgb-3classes"];
        using var model = RandomModel(c.Options);
        string path = _dir.File("meta.onnx");
        OnnxExport.Save(model, path);

        using var session = new InferenceSession(path);
        var metadata = session.ModelMetadata;
        Assert.Equal(new[] { "unet_onnx_format", "unet_options" }, metadata.CustomMetadataMap.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(model.Options, UNetOptions.FromJson(metadata.CustomMetadataMap["unet_options"]));
        Assert.Equal("1", metadata.CustomMetadataMap["unet_onnx_format"]);
        Assert.Equal("UNet.Segmentation", metadata.ProducerName);
        Assert.Contains("92, 100, 108, 116, … (every 8)", metadata.Description);

        var input = Assert.Single(session.InputMetadata);
        Assert.Equal("image", input.Key);
        Assert.Equal(typeof(float), input.Value.ElementType);
        Assert.Equal(new[] { -1, 3, -1, -1 }, input.Value.Dimensions);
        Assert.Equal(new[] { "batch", "", "height", "width" }, input.Value.SymbolicDimensions);
        Assert.Equal(new[] { "probabilities", "logits" }, session.OutputNames);
        foreach (var output in session.OutputMetadata.Values)
        {
            Assert.Equal(new[] { -1, 3, -1, -1 }, output.Dimensions);
            Assert.Equal(new[] { "batch", "", "output_height", "output_width" }, output.SymbolicDimensions);
        }
    }

    [Theory]
    [InlineData("reference", "Concat=2 Constant=7 Conv=11 ConvTranspose=2 MaxPool=2 Relu=12 Slice=4 Softmax=1")]
    [InlineData("same", "Concat=2 Constant=3 Conv=11 ConvTranspose=2 MaxPool=2 Relu=12 Slice=2 Softmax=1")]
    [InlineData("paper", "Concat=2 Constant=5 Conv=11 ConvTranspose=2 MaxPool=2 Relu=10 Slice=2 Softmax=1")]
    [InlineData("batchnorm", "BatchNormalization=10 Concat=2 Constant=7 Conv=11 ConvTranspose=2 MaxPool=2 Relu=12 Slice=4 Softmax=1")]
    [InlineData("depth3-rgb-3classes", "Concat=3 Constant=9 Conv=15 ConvTranspose=3 MaxPool=3 Relu=17 Slice=6 Softmax=1")]
    [InlineData("same-2x2-depth3", "Concat=3 Conv=15 ConvTranspose=3 MaxPool=3 Relu=14 Softmax=1")]
    public void TheFile_HoldsOpset17_TheBlocksOperators_AndEveryWeightAsAnInitializer(string name, string operators)
    {
        var c = Cases[name];
        using var model = RandomModel(c.Options);
        string path = _dir.File($"{name}.onnx");
        var result = OnnxExport.Save(model, path);
        var proto = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));

        Assert.Equal(8, proto.IrVersion);
        var opset = Assert.Single(proto.OpsetImport);
        Assert.Equal(("", 17L), (opset.Domain, opset.Version));
        Assert.Equal("UNet.Segmentation", proto.ProducerName);
        Assert.Equal(typeof(OnnxExport).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion, proto.ProducerVersion);
        var graph = proto.Graph;
        Assert.Equal(operators, string.Join(' ', graph.Node.GroupBy(n => n.OpType).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key}={g.Count()}")));
        Assert.Equal(["image"], graph.Input.Select(i => i.Name));
        Assert.Equal(["probabilities", "logits"], graph.Output.Select(o => o.Name));
        Assert.Equal((path, 17, 8L, graph.Node.Count, graph.Initializer.Count), (result.Path, result.Opset, result.IrVersion, result.NodeCount, result.InitializerCount));
        Assert.Equal(["image"], result.Inputs);
        Assert.Equal(["probabilities", "logits"], result.Outputs);

        // Topological order: every node reads the input, an initializer or an earlier node's output.
        var known = new HashSet<string>(graph.Initializer.Select(i => i.Name).Append("image"), StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            Assert.All(node.Input, i => Assert.True(known.Contains(i), $"{node.Name} reads '{i}' before it exists"));
            Assert.Equal(node.Name, Assert.Single(node.Output));
            Assert.True(known.Add(node.Output[0]), $"'{node.Output[0]}' is written twice");
        }
        Assert.Contains("probabilities", known);
        Assert.Contains("logits", known);

        // The initializers are the state dict (less batch norm's step counter), contiguous NCHW float32, little-endian.
        var stateDict = model.state_dict();
        var weights = stateDict.Where(kv => !kv.Key.EndsWith(".num_batches_tracked", StringComparison.Ordinal)).ToDictionary();
        Assert.Equal(weights.Keys.Order(StringComparer.Ordinal), graph.Initializer.Select(i => i.Name).Order(StringComparer.Ordinal));
        using (NewDisposeScope())
            foreach (var init in graph.Initializer)
            {
                var tensor = weights[init.Name];
                Assert.Equal((int)TensorProto.Types.DataType.Float, init.DataType);
                Assert.Equal(tensor.shape, init.Dims);
                Assert.Equal(tensor.contiguous().data<float>().ToArray(), System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(init.RawData.Span).ToArray());
            }

        long pad = c.Options.Padding == ConvPadding.Same ? 1 : 0;
        foreach (var conv in graph.Node.Where(n => n.OpType == "Conv" && n.Name != "logits"))
            Assert.Equal([pad, pad, pad, pad], conv.Attribute.Single(a => a.Name == "pads").Ints);
        foreach (var bn in graph.Node.Where(n => n.OpType == "BatchNormalization"))
            Assert.Equal(1e-5f, bn.Attribute.Single(a => a.Name == "epsilon").F);
        Assert.All(BatchNorms(model), bn => Assert.Equal(1e-5, bn.eps));
    }

    [Fact]
    public void SkipCrops_AreConstantSlices_WhoseMarginsHoldAtEveryInputSize()
    {
        // The reference at 572: skips 568, 280, 136, 64 against up-sampled 392, 200, 104, 56.
        Assert.Equal([176L, 80, 32, 8], UNetOnnxGraph.SkipCropMargins(UNetOptions.Reference));
        Assert.Equal([0L, 0, 0, 0], UNetOnnxGraph.SkipCropMargins(UNetOptions.Reference with { Padding = ConvPadding.Same, InputSize = 512 }));

        foreach (var upsampling in new[] { Upsampling.TransposedConv3x3, Upsampling.TransposedConv2x2 })
        {
            var options = UNetOptions.Reference with { BaseFilters = 2, Depth = 3, InputSize = 92, Upsampling = upsampling };
            long[] margins = UNetOnnxGraph.SkipCropMargins(options);
            using var model = RandomModel(options);
            // Two input sizes (and a non-square one): the skip minus the up-sampled size, as the blocks compute them.
            foreach (var (h, w) in new[] { (92, 92), (108, 100) })
            {
                using var scope = NewDisposeScope();
                using var noGrad = no_grad();
                var (x, skip) = model.InputBlock.Forward(randn(1, 1, h, w));
                var skips = new List<Tensor> { skip };
                foreach (var block in model.DownBlocks)
                {
                    (x, skip) = block.Forward(x);
                    skips.Add(skip);
                }
                x = model.Bottleneck.Forward(x);
                for (int level = options.Depth - 1; level >= 0; level--)
                {
                    Assert.Equal(margins[level], skips[level].shape[2] - x.shape[2]);
                    Assert.Equal(margins[level], skips[level].shape[3] - x.shape[3]);
                    if (level > 0) x = model.UpBlocks[options.Depth - 1 - level].Forward(x, skips[level]);
                }
            }
        }

        // In the file: the Slice of each level reads those margins' halves.
        using var reference = RandomModel(Cases["reference"].Options);
        string path = _dir.File("crops.onnx");
        OnnxExport.Save(reference, path);
        var graph = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path)).Graph;
        var constants = graph.Node.Where(n => n.OpType == "Constant").ToDictionary(n => n.Output[0], n => string.Join(",", n.Attribute.Single().Ints));
        string Crop(string node) => string.Join(" ", graph.Node.Single(n => n.Name == node).Input.Skip(1).Select(i => constants[i]));
        Assert.Equal("4,4 -4,-4 2,3", Crop("up_blocks.0.skip_crop"));
        Assert.Equal("16,16 -16,-16 2,3", Crop("output_block.skip_crop"));
        Assert.Equal("0,0 -1,-1 2,3", Crop("bottleneck.upconv.crop"));
    }

    [Fact]
    public void EveryOfferedOpset_LoadsAndRunsInOnnxRuntime_WithItsIrVersion()
    {
        var expectedIr = new Dictionary<int, long> { [17] = 8, [18] = 8, [19] = 9, [20] = 9, [21] = 10, [22] = 10, [23] = 11, [24] = 12, [25] = 13, [26] = 13 };
        Assert.Equal(expectedIr.Keys, Enumerable.Range(OnnxExport.MinOpset, OnnxExport.MaxOpset - OnnxExport.MinOpset + 1));
        var c = Cases["batchnorm"];
        using var model = RandomModel(c.Options);
        using var scope = NewDisposeScope();
        manual_seed(3);
        var image = randn(1, 1, 44, 44);
        var expected = TorchForward(model, image);
        foreach (var (opset, ir) in expectedIr)
        {
            string path = _dir.File($"opset{opset}.onnx");
            var result = OnnxExport.Save(model, path, new OnnxExportOptions { Opset = opset });
            var proto = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
            Assert.Equal((opset, ir), (result.Opset, result.IrVersion));
            Assert.Equal((opset, ir), ((int)proto.OpsetImport.Single().Version, proto.IrVersion));
            using var session = new InferenceSession(path);
            var actual = OnnxForward(session, image.data<float>().ToArray(), image.shape);
            Assert.True(MaxAbsDiff(expected.Logits, actual.Logits) <= 1e-4, $"opset {opset}");
        }
    }

    [Fact]
    public void AnInvalidInputSize_FailsInOnnxRuntime()
    {
        using var model = RandomModel(Cases["reference"].Options);
        string path = _dir.File("sizes.onnx");
        OnnxExport.Save(model, path);
        using var session = new InferenceSession(path);
        // 46: 42 after the first convs, 21 pooled, 17 after the next: odd at the second pooling,
        // which floors it; the skip crop of that level is then one row larger than the up-sampled
        // tensor and the Concat fails. 40 and 28 pool evenly but shrink to nothing on the way.
        foreach (var (h, w, op) in new[] { (46, 44, "Concat"), (44, 45, "Concat"), (40, 40, "Conv"), (28, 28, "Conv") })
        {
            Assert.False(model.Options.IsValidInputSize(h) && model.Options.IsValidInputSize(w));
            var e = Assert.Throws<OnnxRuntimeException>(() => OnnxForward(session, new float[h * w], [1, 1, h, w]));
            Assert.Contains($"Non-zero status code returned while running {op} node", e.Message);
            output.WriteLine($"{h}x{w}: {e.Message}");
        }
    }

    [Fact]
    public void Export_LeaksNoTensor_AndLeavesTheModelAsItWas()
    {
        using var model = RandomModel(Cases["channels-last"].Options);
        string path = _dir.File("leak.onnx");
        OnnxExport.Save(model, path); // first call may create lasting state
        bool training = model.training;
        var strides = model.parameters().Select(p => p.stride()).ToList();
        long baseline = LiveTensors.SettledCount();
        using (var caller = NewDisposeScope())
        {
            OnnxExport.Save(model, path);
            Assert.Equal(0, caller.DisposablesCount);
            Assert.Equal(baseline, torch.Tensor.TotalCount);
        }
        Assert.Equal(baseline, LiveTensors.SettledCount());
        Assert.Equal(training, model.training);
        Assert.Equal(strides, model.parameters().Select(p => p.stride()));
        Assert.Contains(model.parameters(), p => p.Dimensions == 4 && p.shape[1] > 1 && p.shape[2] > 1 && ChannelsLast.Is(p));
    }
}
