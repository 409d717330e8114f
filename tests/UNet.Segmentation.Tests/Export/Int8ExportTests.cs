using System.Runtime.InteropServices;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using UNet.Segmentation.Export;
using UNet.Segmentation.Export.Onnx;
using UNet.Segmentation.Inference;
using UNet.Segmentation.Model;
using UNet.Segmentation.Model.Blocks;
using UNet.Segmentation.Onnx;
using UNet.Segmentation.Tests.Imaging;
using static TorchSharp.torch;
using static UNet.Segmentation.Tests.Export.Int8TestSupport;
using static UNet.Segmentation.Tests.Export.OnnxTestSupport;

namespace UNet.Segmentation.Tests.Export;

/// <summary>
/// The int8 export (<see cref="OnnxExportOptions.Int8"/>) on small random models of every graph
/// branch: the calibration forward is the model's, the up-convolutions' sub-pixel form is the
/// transposed convolution's, the file is in QDQ form as designed (int8 per-channel weights, int32
/// biases at input × weight scale, uint8 activations after every ReLU, MaxPool, crop and
/// DepthToSpace sharing their input's parameters, the last 1×1 convolution float32), ONNX
/// Runtime runs it close to the float model, the metadata round-trips, and bad calibration is
/// refused in one line.
/// </summary>
[Collection("LiveTensors")]
public sealed class Int8ExportTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>The float graph as the calibration runs it: inputs and outputs set as the export sets them.</summary>
    private static GraphProto FloatGraph(UNetModel model, bool foldBatchNorm, bool subPixel)
    {
        var g = UNetOnnxGraph.Build(model, foldBatchNorm, subPixel).Graph;
        g.Input.Add(new ValueInfoProto { Name = OnnxExport.InputName });
        g.Output.Add(new ValueInfoProto { Name = OnnxExport.ProbabilitiesName });
        g.Output.Add(new ValueInfoProto { Name = OnnxExport.LogitsName });
        return g;
    }

    [Theory]
    [MemberData(nameof(CaseNames), MemberType = typeof(OnnxTestSupport))]
    public void TheCalibrationForward_ComputesWhatTheModelComputes_WithBatchNormFoldedOrNot_AndSubPixelUpsamplingOrNot(string name)
    {
        var c = Cases[name];
        using var model = RandomModel(c.Options);
        using var scope = NewDisposeScope();
        manual_seed(21);
        var image = randn(2, c.Options.InputChannels, c.Second.H, c.Second.W);
        var expected = TorchForward(model, image);
        foreach (var (fold, subPixel) in new[] { (false, false), (true, false), (false, true), (true, true) })
        {
            var graph = FloatGraph(model, fold, subPixel);
            Assert.Equal(c.Options.BatchNorm && !fold, graph.Node.Any(n => n.OpType == "BatchNormalization"));
            Assert.Equal(subPixel ? 0 : c.Options.Depth, graph.Node.Count(n => n.OpType == "ConvTranspose"));
            Assert.Equal(subPixel ? c.Options.Depth : 0, graph.Node.Count(n => n.OpType == "DepthToSpace"));
            using var interpreter = new OnnxTorchInterpreter(graph);
            var seen = new List<string>();
            Dictionary<string, Tensor> outputs;
            using (no_grad()) outputs = interpreter.Run(image, (value, _) => seen.Add(value));
            double logits = MaxAbsDiff(expected.Logits, outputs[OnnxExport.LogitsName].contiguous().data<float>().ToArray());
            double probabilities = MaxAbsDiff(expected.Probabilities, outputs[OnnxExport.ProbabilitiesName].contiguous().data<float>().ToArray());
            Assert.True(logits <= 1e-4 && probabilities <= 1e-4, $"{name}, fold {fold}, sub-pixel {subPixel}: logits differ by {logits:E2}, probabilities by {probabilities:E2}");
            // The observer saw the input and every node's output once.
            Assert.Equal(graph.Node.Where(n => n.OpType != "Constant").Select(n => n.Output[0]).Prepend(OnnxExport.InputName), seen);
        }
    }

    public static TheoryData<Upsampling, int, int> SubPixelCases() => new()
    {
        { Upsampling.TransposedConv3x3, 6, 6 },
        { Upsampling.TransposedConv3x3, 5, 5 },
        { Upsampling.TransposedConv3x3, 7, 4 },
        { Upsampling.TransposedConv3x3, 1, 1 },
        { Upsampling.TransposedConv2x2, 6, 6 },
        { Upsampling.TransposedConv2x2, 5, 5 },
        { Upsampling.TransposedConv2x2, 4, 7 },
    };

    [Theory]
    [MemberData(nameof(SubPixelCases))]
    public void TheSubPixelUpsampling_EqualsTheTransposedConvolution_InTheInterpreterAndInOnnxRuntime(Upsampling kind, int height, int width)
    {
        const int inChannels = 3, outChannels = 5;
        using var scope = NewDisposeScope();
        manual_seed(100 * height + width + (int)kind);
        using var upconv = Blocks.NewUpconv(inChannels, outChannels, kind);
        using (no_grad())
        {
            upconv.weight!.copy_(randn(upconv.weight.shape));
            upconv.bias!.copy_(randn(outChannels));
        }
        var x = randn(2, inChannels, height, width);
        Tensor expected;
        using (no_grad()) expected = Blocks.Upsample(upconv, x, kind).contiguous();
        Assert.Equal([2L, outChannels, 2 * height, 2 * width], expected.shape);
        var reference = expected.data<float>().ToArray();

        var builder = new OnnxGraphBuilder();
        string y = SubPixelUpsampling.Write(builder, "up", "x", upconv.weight!, upconv.bias, kind);
        var graph = builder.Graph;
        graph.Input.Add(OnnxGraphBuilder.FloatTensor("x", "", "n", (long)inChannels, "h", "w"));
        graph.Output.Add(OnnxGraphBuilder.FloatTensor(y, "", "n", (long)outChannels, "h2", "w2"));
        Assert.Equal(kind == Upsampling.TransposedConv3x3 ? ["Conv", "Relu", "DepthToSpace"] : ["Conv", "DepthToSpace"], graph.Node.Select(n => n.OpType));

        // The interpreter, which calibrates the int8 export ...
        Dictionary<string, Tensor> interpreted;
        using (var interpreter = new OnnxTorchInterpreter(graph))
        using (no_grad())
            interpreted = interpreter.Run(x, (_, _) => { });
        Assert.Equal(expected.shape, interpreted[y].shape);
        double byInterpreter = MaxAbsDiff(reference, interpreted[y].contiguous().data<float>().ToArray());

        // ... and ONNX Runtime, which runs it.
        var model = new ModelProto { IrVersion = OnnxExport.IrVersion(OnnxExport.DefaultOpset), Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = OnnxExport.DefaultOpset });
        using var session = new InferenceSession(model.ToByteArray());
        using var value = OrtValue.CreateTensorValueFromMemory(x.data<float>().ToArray(), x.shape);
        using var run = new RunOptions();
        using var result = session.Run(run, ["x"], [value], [y]);
        Assert.Equal(expected.shape, result[0].GetTensorTypeAndShape().Shape);
        double byOnnxRuntime = MaxAbsDiff(reference, result[0].GetTensorDataAsSpan<float>().ToArray());

        output.WriteLine($"{kind} {height}x{width}: max |Δ| interpreter {byInterpreter:E2}, ONNX Runtime {byOnnxRuntime:E2}");
        Assert.True(byInterpreter <= 1e-5 && byOnnxRuntime <= 1e-5, $"{kind} {height}x{width}: the sub-pixel form differs by {byInterpreter:E2} (interpreter), {byOnnxRuntime:E2} (ONNX Runtime)");
    }

    [Theory]
    [MemberData(nameof(CaseNames), MemberType = typeof(OnnxTestSupport))]
    public void TheFile_IsInQdqForm_AsDesigned(string name)
    {
        var c = Cases[name];
        using var model = RandomModel(c.Options);
        string path = _dir.File($"{name}.onnx");
        var result = OnnxExport.Save(model, path, Int8(Images(3, c.Options.InputChannels)));
        var graph = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path)).Graph;
        var init = graph.Initializer.ToDictionary(i => i.Name);
        var producer = graph.Node.ToDictionary(n => n.Output[0]);
        var readers = graph.Node.SelectMany(n => n.Input.Select(i => (Input: i, Node: n))).ToLookup(p => p.Input, p => p.Node);
        float Scalar(string initializer) => MemoryMarshal.Cast<byte, float>(init[initializer].RawData.Span)[0];
        NodeProto Dequantizer(string value) => producer.TryGetValue(value, out var n) && n.OpType == "DequantizeLinear" ? n
            : throw new Xunit.Sdk.XunitException($"'{value}' does not come from a DequantizeLinear");

        Assert.DoesNotContain(graph.Node, n => n.OpType is "BatchNormalization" or "ConvTranspose");
        Assert.Equal(["image"], graph.Input.Select(i => i.Name));
        Assert.Equal(["probabilities", "logits"], graph.Output.Select(o => o.Name));
        int convolutions = graph.Node.Count(n => n.OpType == "Conv");
        Assert.Equal(convolutions - 1, result.Quantization!.Int8Layers.Count);
        Assert.Equal(["output_block.conv3"], result.Quantization.FloatLayers);
        // Every up-convolution is an int8 sub-pixel Conv, reported under its own layer name.
        var upconvs = Enumerable.Range(0, c.Options.Depth - 1).Select(i => $"up_blocks.{i}.upconv").Prepend("bottleneck.upconv").ToList();
        Assert.Equal(upconvs.Order(StringComparer.Ordinal), result.Quantization.Int8Layers.Where(l => l.EndsWith(".upconv", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
        Assert.Equal(c.Options.Depth, graph.Node.Count(n => n.OpType == "DepthToSpace"));

        foreach (var node in graph.Node)
        {
            if (node.OpType == "Conv")
            {
                var x = Dequantizer(node.Input[0]);
                float xScale = Scalar(x.Input[1]);
                if (node.Output[0] == "logits")
                {
                    // The last 1×1 convolution: float32 weights on a dequantized input, its output the float logits.
                    Assert.Equal((int)TensorProto.Types.DataType.Float, init[node.Input[1]].DataType);
                    Assert.Equal("output_block.conv3.weight", node.Input[1]);
                    continue;
                }
                var w = Dequantizer(node.Input[1]);
                Assert.Equal(0, Assert.Single(w.Attribute, a => a.Name == "axis").I);
                var wq = init[w.Input[0]];
                Assert.Equal((int)TensorProto.Types.DataType.Int8, wq.DataType);
                long outChannels = wq.Dims[0];
                var wScales = MemoryMarshal.Cast<byte, float>(init[w.Input[1]].RawData.Span).ToArray();
                Assert.Equal(outChannels, wScales.Length);
                Assert.Equal((int)TensorProto.Types.DataType.Int8, init[w.Input[2]].DataType);
                Assert.All(init[w.Input[2]].RawData.ToByteArray(), b => Assert.Equal(0, b));
                // Symmetric: every channel reaches ±127 (or is all zero), none passes it.
                var q = MemoryMarshal.Cast<byte, sbyte>(wq.RawData.Span).ToArray();
                Assert.DoesNotContain((sbyte)-128, q);
                Assert.Contains(q, v => Math.Abs((int)v) == 127);

                var b = Dequantizer(node.Input[2]);
                Assert.Equal(0, Assert.Single(b.Attribute, a => a.Name == "axis").I);
                Assert.Equal((int)TensorProto.Types.DataType.Int32, init[b.Input[0]].DataType);
                var bScales = MemoryMarshal.Cast<byte, float>(init[b.Input[1]].RawData.Span).ToArray();
                Assert.Equal(wScales.Select(s => xScale * s), bScales);
            }
            if (node.OpType is "MaxPool" or "Concat" or "Conv" or "DepthToSpace")
                Dequantizer(node.Input[0]);
            if (node.OpType == "Concat")
                Assert.All(node.Input, i => Dequantizer(i));
            if (node.OpType == "Relu")
            {
                // After a ReLU: QuantizeLinear with zero point 0, which ONNX Runtime fuses with the ReLU.
                var q = Assert.Single(readers[node.Output[0]]);
                Assert.Equal("QuantizeLinear", q.OpType);
                Assert.Equal(0, init[q.Input[2]].RawData[0]);
                Assert.Equal((int)TensorProto.Types.DataType.Uint8, init[q.Input[2]].DataType);
            }
            if (node.OpType is "MaxPool" or "DepthToSpace" || node.OpType == "Slice" && producer[node.Input[0]].OpType == "DequantizeLinear")
            {
                // Same scale and zero point in and out: ONNX Runtime drops the pair and runs the node on uint8.
                var q = Assert.Single(readers[node.Output[0]]);
                Assert.Equal("QuantizeLinear", q.OpType);
                var dq = producer[node.Input[0]];
                Assert.Equal(dq.Input.Skip(1), q.Input.Skip(1));
            }
        }
        var softmax = Assert.Single(graph.Node, n => n.OpType == "Softmax");
        Assert.Equal("logits", softmax.Input[0]);
        Assert.Equal("Conv", producer["logits"].OpType);
        output.WriteLine($"{name}: {Describe(graph.Node.GroupBy(n => n.OpType).ToDictionary(g => g.Key, g => g.Count()))}");
    }

    [Fact]
    public void QuantizingTheOutputConvolution_QuantizesTheLogits_WhichStayTheGraphsOutput()
    {
        var c = Cases["reference"];
        using var model = RandomModel(c.Options);
        string path = _dir.File("all.onnx");
        var options = new OnnxExportOptions { Int8 = new Int8Quantization { Calibration = Images(2), QuantizeOutputConvolution = true } };
        var result = OnnxExport.Save(model, path, options);
        Assert.Empty(result.Quantization!.FloatLayers);
        Assert.Contains("output_block.conv3", result.Quantization.Int8Layers);
        var graph = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path)).Graph;
        var producer = graph.Node.ToDictionary(n => n.Output[0]);
        Assert.Equal("DequantizeLinear", producer["logits"].OpType);
        Assert.Equal("Conv", producer["logits/float"].OpType);
        Assert.Equal(graph.Node.Count, graph.Node.Select(n => n.Name).Distinct().Count());
        using var session = new InferenceSession(path);
        var input = new float[c.First.H * c.First.W];
        var (p, l, _, _) = OnnxForward(session, input, [1, 1, c.First.H, c.First.W]);
        Assert.All(p, v => Assert.InRange(v, 0f, 1f));
        Assert.All(l, v => Assert.True(float.IsFinite(v)));
    }

    /// <summary>Relative RMS error of the int8 logits: ‖int8 − float‖ / ‖float − mean(float)‖.</summary>
    private static double RelativeError(float[] quantized, float[] reference)
    {
        double mean = reference.Average(v => (double)v), error = 0, spread = 0;
        for (int i = 0; i < reference.Length; i++)
        {
            error += Math.Pow(quantized[i] - reference[i], 2);
            spread += Math.Pow(reference[i] - mean, 2);
        }
        return Math.Sqrt(error / spread);
    }

    [Theory]
    [MemberData(nameof(CaseNames), MemberType = typeof(OnnxTestSupport))]
    public void OnnxRuntime_RunsTheInt8File_CloseToTheFloatModel_AtTwoSizesAndBatchOneAndTwo(string name)
    {
        var c = Cases[name];
        using var model = RandomModel(c.Options);
        var calibration = Images(4, c.Options.InputChannels, seed: 3);
        string path = _dir.File($"{name}.onnx");
        OnnxExport.Save(model, path, Int8(calibration));
        using var session = new InferenceSession(path);
        int seed = 40;
        foreach (var (h, w) in new[] { c.First, c.Second })
            foreach (int batch in new[] { 1, 2 })
            {
                using var scope = NewDisposeScope();
                manual_seed(seed++);
                // Inputs like the calibration's: [−1, 1].
                var image = rand(batch, c.Options.InputChannels, h, w) * 2 - 1;
                var expected = TorchForward(model, image);
                var actual = OnnxForward(session, image.data<float>().ToArray(), image.shape);
                long[] shape = [batch, c.Options.Classes, c.Options.OutputSize(h), c.Options.OutputSize(w)];
                Assert.Equal(shape, actual.LogitsShape);
                Assert.Equal(shape, actual.ProbabilitiesShape);
                double error = RelativeError(actual.Logits, expected.Logits);
                output.WriteLine($"{name} {batch}x{h}x{w}: relative RMS error of the logits {error:P2}, max |Δp| {MaxAbsDiff(expected.Probabilities, actual.Probabilities):F4}");
                Assert.True(error < 0.05, $"{name} {batch}x{h}x{w}: relative RMS error of the int8 logits {error:P2}");
            }
    }

    [Fact]
    public void TheMetadata_SaysInt8_HowAndOnWhat_AndOnnxPredictorReportsIt()
    {
        var c = Cases["reference"];
        using var model = RandomModel(c.Options);
        var images = Images(3);
        string int8 = _dir.File("int8.onnx"), minmax = _dir.File("minmax.onnx"), f32 = _dir.File("float.onnx");
        var result = OnnxExport.Save(model, int8, Int8(images));
        var minmaxResult = OnnxExport.Save(model, minmax, Int8(images, CalibrationMethod.MinMax));
        OnnxExport.Save(model, f32);

        var report = result.Quantization!;
        Assert.Equal((CalibrationMethod.Percentile, (double?)99.999), (report.Method, report.Percentile));
        Assert.Equal(["calibration-0", "calibration-1", "calibration-2"], report.ImageNames);
        Assert.Equal(64, report.ImagesSha256.Length);
        Assert.Equal(report.ImagesSha256, minmaxResult.Quantization!.ImagesSha256);
        Assert.NotEqual(report.ImagesSha256, Int8Export.Hash(Images(3, seed: 2)));
        Assert.Null(minmaxResult.Quantization.Percentile);

        using (var predictor = OnnxPredictor.Load(int8))
        {
            var q = predictor.Info.Quantization;
            Assert.NotNull(q);
            Assert.Equal(("Percentile", (double?)99.999, "ReferenceResize"), (q.Method, q.Percentile, q.Input));
            Assert.Equal(report.ImageNames, q.ImageNames);
            Assert.Equal(report.ImagesSha256, q.ImagesSha256);
            Assert.Equal(["output_block.conv3"], q.FloatLayers);
            Assert.Equal("int8 (QDQ), Percentile 99.999 calibration on 3 image(s)", q.ToString());
            Assert.Equal(model.Options, UNetOptions.FromJson(predictor.Info.OptionsJson));
            // It predicts as a float model does: probabilities in [0, 1] that sum to 1.
            var p = predictor.PredictProbabilities(images[0].Pixels);
            for (int i = 0; i < p.Area; i++) Assert.Equal(1f, p.Plane(0, 0)[i] + p.Plane(0, 1)[i], 1e-5f);
        }
        using (var predictor = OnnxPredictor.Load(File.ReadAllBytes(minmax)))
            Assert.Equal(("MinMax", (double?)null), (predictor.Info.Quantization!.Method, predictor.Info.Quantization.Percentile));
        using (var predictor = OnnxPredictor.Load(f32))
            Assert.Null(predictor.Info.Quantization);

        using var session = new InferenceSession(int8);
        var metadata = session.ModelMetadata.CustomMetadataMap;
        Assert.Equal(new[] { "unet_onnx_format", "unet_options", "unet_quantization" }, metadata.Keys.Order(StringComparer.Ordinal));
        Assert.Contains("\"Format\":\"QDQ\"", metadata["unet_quantization"]);
        Assert.Contains("int8", session.ModelMetadata.Description);
    }

    [Fact]
    public void AMalformedQuantizationEntry_IsOneLineNamingTheFile()
    {
        var metadata = new Dictionary<string, string>
        {
            ["unet_onnx_format"] = "1",
            ["unet_options"] = UNetOptions.Reference.ToJson(),
        };
        foreach (var (json, expected) in new[]
        {
            ("not json", "is not JSON"),
            ("{\"Format\":\"QOperator\"}", "has format 'QOperator'"),
            ("{\"Format\":\"QDQ\",\"Method\":\"Entropy\",\"ImageNames\":[\"a\"],\"ImagesSha256\":\"x\",\"Input\":\"ReferenceResize\",\"FloatLayers\":[]}", "calibration method 'Entropy'"),
            ("{\"Format\":\"QDQ\",\"Method\":\"Percentile\",\"ImageNames\":[\"a\"],\"ImagesSha256\":\"x\",\"Input\":\"ReferenceResize\",\"FloatLayers\":[]}", "'Percentile'"),
            ("{\"Format\":\"QDQ\",\"Method\":\"MinMax\",\"ImageNames\":[],\"ImagesSha256\":\"x\",\"Input\":\"ReferenceResize\",\"FloatLayers\":[]}", "no calibration images"),
        })
        {
            metadata["unet_quantization"] = json;
            var e = Assert.Throws<OnnxModelException>(() => OnnxModelInfo.FromMetadata("m.onnx", metadata));
            Assert.Contains(expected, e.Message);
            Assert.StartsWith("ONNX file 'm.onnx': its 'unet_quantization' metadata", e.Message);
        }
    }

    private void AssertRefused<TException>(UNetModel model, OnnxExportOptions options, string parameter, params string[] expected) where TException : ArgumentException
    {
        string path = _dir.File("kept.onnx");
        File.WriteAllText(path, "an earlier export");
        var e = Assert.Throws<TException>(() => OnnxExport.Save(model, path, options));
        Assert.Equal(parameter, e.ParamName);
        foreach (string part in expected) Assert.Contains(part, e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Equal("an earlier export", File.ReadAllText(path));
        output.WriteLine(e.Message);
    }

    [Fact]
    public void BadCalibration_IsRefused_InOneLineNamingTheOption_AndNothingIsWritten()
    {
        using var model = RandomModel(Cases["reference"].Options);
        AssertRefused<OptionsValidationException>(model, new OnnxExportOptions { Int8 = new Int8Quantization() }, "Int8.Calibration", "Int8.Calibration must hold at least one image");
        AssertRefused<OptionsValidationException>(model, new OnnxExportOptions { Int8 = new Int8Quantization { Calibration = Images(1), Percentile = 40 } }, "Int8.Percentile", "(50, 100]");
        AssertRefused<OptionsValidationException>(model, new OnnxExportOptions { Int8 = new Int8Quantization { Calibration = Images(1), Method = (CalibrationMethod)7 } }, "Int8.Method");
        AssertRefused<OptionsValidationException>(model,
            new OnnxExportOptions { Int8 = new Int8Quantization { Calibration = Images(1), Prediction = PredictorOptions.Reference with { BatchSize = 0 } } },
            "Int8.Prediction.BatchSize");

        var constant = new CalibrationImage("blank.png", new FloatImages(Enumerable.Repeat(0.25f, 40 * 40).ToArray(), 1, 1, 40, 40));
        var e = Assert.Throws<Int8CalibrationException>(() => OnnxExport.Save(model, _dir.File("x.onnx"), Int8([.. Images(2), constant])));
        Assert.Equal(("blank.png", (string?)null), (e.Image, e.Activation));
        AssertRefused<Int8CalibrationException>(model, Int8([.. Images(2), constant]), "Int8.Calibration", "'blank.png' is constant (every value 0.25)");

        var nan = Images(1)[0] with { Name = "nan.tif[2]" };
        nan.Pixels.Data[17] = float.NaN;
        AssertRefused<Int8CalibrationException>(model, Int8([nan]), "Int8.Calibration", "'nan.tif[2]' holds NaN or infinite values");

        AssertRefused<Int8CalibrationException>(model, Int8(Images(1, channels: 3)), "Int8.Calibration", "'calibration-0' has 3 channel(s); the model takes 1");
    }

    [Fact]
    public void AModelThatComputesNaN_IsRefused_NamingTheActivationAndTheImage()
    {
        using var model = RandomModel(Cases["reference"].Options);
        using (no_grad()) model.state_dict()["bottleneck.conv1.bias"][3].fill_(float.NaN);
        AssertRefused<Int8CalibrationException>(model, Int8(Images(2)), "Int8.Calibration", "activation 'bottleneck.conv1' is NaN or infinite on calibration image 'calibration-0'");
        var e = Assert.Throws<Int8CalibrationException>(() => OnnxExport.Save(model, _dir.File("y.onnx"), Int8(Images(2))));
        Assert.Equal(("calibration-0", "bottleneck.conv1"), (e.Image, e.Activation));
    }

    [Fact]
    public void ThePercentileMethod_ClipsInsideMinMax_AndBothCoverTheCalibrationInputs()
    {
        using var model = RandomModel(Cases["reference"].Options);
        var images = Images(3);
        string percentile = _dir.File("p.onnx"), minmax = _dir.File("m.onnx"), hundred = _dir.File("h.onnx");
        OnnxExport.Save(model, percentile, new OnnxExportOptions { Int8 = new Int8Quantization { Calibration = images, Percentile = 99 } });
        OnnxExport.Save(model, minmax, Int8(images, CalibrationMethod.MinMax));
        OnnxExport.Save(model, hundred, new OnnxExportOptions { Int8 = new Int8Quantization { Calibration = images, Percentile = 100 } });
        Dictionary<string, float> Scales(string path) => ModelProto.Parser.ParseFrom(File.ReadAllBytes(path)).Graph.Initializer
            .Where(i => i.Name.EndsWith("/scale", StringComparison.Ordinal) && i.Dims.Count == 0)
            .ToDictionary(i => i.Name, i => MemoryMarshal.Cast<byte, float>(i.RawData.Span)[0]);
        var (p, m, h) = (Scales(percentile), Scales(minmax), Scales(hundred));
        Assert.Equal(m.Keys.Order(), p.Keys.Order());
        Assert.Equal(m, h);
        Assert.All(m, kv => Assert.True(p[kv.Key] <= kv.Value, $"{kv.Key}: percentile scale {p[kv.Key]} above min-max {kv.Value}"));
        Assert.Contains(m, kv => p[kv.Key] < 0.9 * kv.Value);
        // The input's min-max range is that of what the pipeline feeds the network (the images
        // resized to 4² and zero-padded to 44²), widened to hold 0.
        var recorder = new InputRecorder(model.Options);
        foreach (var image in images) ProbabilityMaps.Predict(image.Pixels, recorder, PredictorOptions.Reference);
        Assert.Equal((Math.Max(recorder.Max, 0) - Math.Min(recorder.Min, 0)) / 255f, m["image/scale"], 1e-7f);
    }

    /// <summary>A network that records the extremes of the inputs the pipeline gives it.</summary>
    private sealed class InputRecorder(UNetOptions options) : ISegmentationNetwork
    {
        public float Min { get; private set; } = float.PositiveInfinity;

        public float Max { get; private set; } = float.NegativeInfinity;

        public int InputChannels => options.InputChannels;

        public int Classes => options.Classes;

        public int InputSize => options.InputSize;

        public int OutputSize => options.OutputSize(options.InputSize);

        public void Probabilities(ReadOnlySpan<float> inputs, int count, Span<float> probabilities)
        {
            foreach (float v in inputs)
            {
                Min = Math.Min(Min, v);
                Max = Math.Max(Max, v);
            }
            probabilities.Fill(1f / Classes);
        }
    }

    public static TheoryData<int> Opsets() => new(Enumerable.Range(OnnxExport.MinOpset, OnnxExport.MaxOpset - OnnxExport.MinOpset + 1));

    [Theory]
    [MemberData(nameof(Opsets))]
    public void AtEveryOfferedOpset_OnnxRuntimeFusesTheConvolutions_AndRunsTheFile(int opset)
    {
        var c = Cases["reference"];
        using var model = RandomModel(c.Options);
        string path = _dir.File($"opset{opset}.onnx");
        var result = OnnxExport.Save(model, path, new OnnxExportOptions { Opset = opset, Int8 = new Int8Quantization { Calibration = Images(2) } });
        Assert.Equal((opset, OnnxExport.IrVersion(opset)), (result.Opset, result.IrVersion));
        var operators = OptimizedOperators(path, _dir.File($"opset{opset}-optimized.onnx"));
        output.WriteLine($"opset {opset}: {Describe(operators)}");
        // The 10 3×3 convolutions and the 2 up-convolutions' sub-pixel Convs.
        Assert.Equal(12, operators.GetValueOrDefault("com.microsoft:QLinearConv"));
        Assert.False(operators.ContainsKey("ConvTranspose"));
        Assert.Equal(2, operators.GetValueOrDefault("com.microsoft:QLinearConcat"));
        Assert.Equal(2, operators.GetValueOrDefault("com.microsoft:NhwcMaxPool"));
        using var session = new InferenceSession(path);
        var (p, _, _, _) = OnnxForward(session, Images(1, size: c.First.H)[0].Pixels.Data, [1, 1, c.First.H, c.First.W]);
        Assert.All(p, v => Assert.InRange(v, 0f, 1f));
    }

    [Fact]
    public void Calibrating_ThroughTheTiledPipeline_IsRecorded()
    {
        using var model = RandomModel(Cases["reference"].Options);
        string path = _dir.File("tiled.onnx");
        OnnxExport.Save(model, path, new OnnxExportOptions
        {
            Int8 = new Int8Quantization { Calibration = Images(2, size: 90), Prediction = PredictorOptions.Tiled },
        });
        using var predictor = OnnxPredictor.Load(path, OnnxPredictorOptions.Tiled);
        Assert.Equal("OverlapTile", predictor.Info.Quantization!.Input);
    }
}
