using TorchSharp;
using UNet.Segmentation.Model;
using UNet.Segmentation.Model.Precision;
using UNet.Segmentation.Serialization;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace UNet.Segmentation.Tests.Model;

public class UNetModelTests(ITestOutputHelper output)
{
    private static UNetOptions Small(ConvPadding padding = ConvPadding.Valid, bool batchNorm = false) =>
        UNetOptions.Reference with { BaseFilters = 4, Depth = 2, Padding = padding, BatchNorm = batchNorm, InputSize = padding == ConvPadding.Valid ? 44 : 32 };

    [Theory]
    [InlineData(false, 34_512_258L)]
    [InlineData(true, 31_030_658L)]
    public void FullModels_HaveThePublishedParameterCounts_AndMap572To388(bool paper, long parameters)
    {
        using var model = new UNetModel(paper ? UNetOptions.Paper : UNetOptions.Reference);
        Assert.Equal(parameters, model.ParameterCount);
        model.eval();
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        var y = model.forward(randn(1, 1, 572, 572));
        Assert.Equal(new long[] { 1, 2, 388, 388 }, y.shape);
        Assert.Equal(ScalarType.Float32, y.dtype);
        Assert.True(y.isfinite().all().item<bool>());
    }

    [Fact]
    public void StateDictKeys_FollowTheDocumentedScheme()
    {
        using var model = new UNetModel(Small(batchNorm: true));
        var keys = model.state_dict().Keys.ToList();
        // The scheme, spelled out: each conv pair with batch norm (no conv bias), the upconvs and the 1×1 conv3.
        static IEnumerable<string> Pair(string block) => new[] { "1", "2" }.SelectMany(i => new[]
        {
            $"{block}.conv{i}.weight", $"{block}.bn{i}.weight", $"{block}.bn{i}.bias",
            $"{block}.bn{i}.running_mean", $"{block}.bn{i}.running_var", $"{block}.bn{i}.num_batches_tracked",
        });
        var expected = Pair("input_block").Concat(Pair("down_blocks.0"))
            .Concat(Pair("bottleneck")).Concat(["bottleneck.upconv.weight", "bottleneck.upconv.bias"])
            .Concat(Pair("up_blocks.0")).Concat(["up_blocks.0.upconv.weight", "up_blocks.0.upconv.bias"])
            .Concat(Pair("output_block")).Concat(["output_block.conv3.weight", "output_block.conv3.bias"]);
        Assert.Equal(expected.Order(StringComparer.Ordinal), keys.Order(StringComparer.Ordinal));
        Assert.DoesNotContain("input_block.conv1.bias", keys); // batch norm replaces the conv bias
        Assert.Single(model.UpBlocks);
        Assert.Single(model.DownBlocks);

        using var plain = new UNetModel(Small());
        var plainKeys = plain.state_dict().Keys.ToList();
        Assert.Contains("input_block.conv1.bias", plainKeys);
        Assert.DoesNotContain(plainKeys, k => k.Contains(".bn", StringComparison.Ordinal));
        // Every state-dict entry that is a parameter is named as named_parameters() names it.
        Assert.Equal(plain.named_parameters().Select(p => p.name).Order(StringComparer.Ordinal), plainKeys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Initialisation_IsGlorotUniformWithZeroBiases_ByDefault()
    {
        using var model = new UNetModel(UNetOptions.Reference with { BaseFilters = 8, Depth = 2, InputSize = 44 });
        using var scope = NewDisposeScope();
        var w = model.InputBlock.named_parameters().First(p => p.name == "conv2.weight").parameter;
        double bound = Math.Sqrt(6.0 / (8 * 9 + 8 * 9));
        Assert.InRange(w.abs().max().ToDouble(), 0.9 * bound, bound);
        Assert.All(model.named_parameters().Where(p => p.name.EndsWith("bias", StringComparison.Ordinal)),
            p => Assert.Equal(0, p.parameter.abs().sum().ToDouble()));
    }

    public static TheoryData<ConvPadding, bool, Upsampling, bool, double, WeightInit> AcceptedCombinations()
    {
        var data = new TheoryData<ConvPadding, bool, Upsampling, bool, double, WeightInit>();
        foreach (var padding in new[] { ConvPadding.Valid, ConvPadding.Same })
            foreach (bool bn in new[] { false, true })
                foreach (var up in new[] { Upsampling.TransposedConv3x3, Upsampling.TransposedConv2x2 })
                    foreach (bool channelsLast in new[] { false, true })
                        data.Add(padding, bn, up, channelsLast, bn ? 0.0 : 0.5, up == Upsampling.TransposedConv2x2 ? WeightInit.KaimingNormal : WeightInit.GlorotUniform);
        data.Add(ConvPadding.Valid, false, Upsampling.TransposedConv3x3, false, 0.2, WeightInit.PyTorchDefault);
        return data;
    }

    [Theory]
    [MemberData(nameof(AcceptedCombinations))]
    public void EveryAcceptedCombination_RunsForwardAndBackward(ConvPadding padding, bool batchNorm, Upsampling up, bool channelsLast, double dropout, WeightInit init)
    {
        var options = Small(padding, batchNorm) with { Upsampling = up, ChannelsLast = channelsLast, DropoutRate = dropout, Initialization = init, InputChannels = 3, Classes = 3 };
        using var model = new UNetModel(options);
        using var scope = NewDisposeScope();
        int size = options.InputSize, outSize = model.OutputSize(size);
        var logits = model.forward(randn(2, 3, size, size));
        Assert.Equal(new long[] { 2, 3, outSize, outSize }, logits.shape);
        F.cross_entropy(logits, randint(0, 3, new long[] { 2, outSize, outSize })).backward();
        Assert.All(model.parameters(), p =>
        {
            var g = p.grad;
            Assert.NotNull(g);
            Assert.Equal(p.shape, g!.shape);
            Assert.True(g.isfinite().all().item<bool>());
        });
        if (channelsLast) Assert.True(ChannelsLast.Is(model.InputBlock.parameters().First()));
    }

    [Fact]
    public void ChannelsLast_GivesTheSameLogitsAsContiguous_AndSurvivesASaveAndLoad()
    {
        using var a = new UNetModel(Small());
        using var b = new UNetModel(Small() with { ChannelsLast = true });
        StateDicts.LoadInto(b, a.state_dict());
        // Every conv and transposed-conv weight with more than one input channel and a kernel
        // larger than 1×1 (where the two layouts differ) is channels-last in b, none in a; loading
        // the weights kept the layout.
        var laidOut = b.named_parameters().Where(p => p.parameter.Dimensions == 4 && p.parameter.shape[1] > 1 && p.parameter.shape[2] > 1).ToList();
        Assert.NotEmpty(laidOut);
        Assert.All(laidOut, p => Assert.True(ChannelsLast.Is(p.parameter), $"{p.name} is not channels-last"));
        Assert.All(a.named_parameters().Where(p => p.parameter.Dimensions == 4 && p.parameter.shape[1] > 1 && p.parameter.shape[2] > 1),
            p => Assert.False(ChannelsLast.Is(p.parameter), $"{p.name} is channels-last in the contiguous model"));
        a.eval(); b.eval();
        using var scope = NewDisposeScope();
        var x = randn(1, 1, 44, 44);
        var expected = a.forward(x);
        var actual = b.forward(x);
        Assert.True(expected.allclose(actual, rtol: 1e-4, atol: 1e-5), $"max |diff| {expected.sub(actual).abs().max().ToDouble():E2}");

        string path = Path.Combine(Path.GetTempPath(), $"unet-cl-{Guid.NewGuid():N}.safetensors");
        try
        {
            b.Save(path);
            using (var file = Safetensors.Load(path))
                Assert.All(file.Tensors.Values, t => Assert.True(t.is_contiguous())); // written NCHW
            using var loaded = UNetModel.Load(path);
            Assert.True(loaded.Options.ChannelsLast);
            loaded.eval();
            Assert.True(ChannelsLast.Is(loaded.InputBlock.named_parameters().First(p => p.name == "conv2.weight").parameter));
            Assert.True(loaded.forward(x).allclose(actual, rtol: 0, atol: 0));
        }
        finally
        {
            File.Delete(path);
        }
    }

    public static TheoryData<bool, Upsampling> MixedPrecisionVariants() => new()
    {
        { false, Upsampling.TransposedConv3x3 },
        { true, Upsampling.TransposedConv2x2 },
    };

    [Theory]
    [MemberData(nameof(MixedPrecisionVariants))]
    public void MixedPrecision_RunsTheConvolutionsInBFloat16OnCpu_CloseToFloat32(bool batchNorm, Upsampling up)
    {
        manual_seed(5);
        using var model = new UNetModel(Small(batchNorm: batchNorm) with { Upsampling = up, DropoutRate = 0 });
        model.eval();
        using var scope = NewDisposeScope();
        var x = randn(2, 1, 44, 44);
        var reference = model.forward(x);
        Assert.Equal(ScalarType.Float32, reference.dtype);
        Assert.Null(MixedPrecision.ComputeType);

        Tensor mixed;
        using (MixedPrecision.Enter(ScalarType.BFloat16, DeviceType.CPU))
        {
            Assert.Equal(ScalarType.BFloat16, MixedPrecision.ComputeType);
            // The scope is per thread: another thread computes in float32.
            ScalarType? elsewhere = ScalarType.BFloat16;
            var other = new Thread(() => elsewhere = MixedPrecision.ComputeType);
            other.Start();
            other.Join();
            Assert.Null(elsewhere);
            mixed = model.forward(x);
            Assert.Equal(ScalarType.BFloat16, mixed.dtype);
            Assert.Equal(reference.shape, mixed.shape);
        }
        Assert.Null(MixedPrecision.ComputeType);
        var after = model.forward(x);
        Assert.Equal(ScalarType.Float32, after.dtype);
        Assert.True(after.allclose(reference, rtol: 0, atol: 0), "leaving the scope leaves no trace");
        // The weights stay float32 (master weights).
        Assert.All(model.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));

        // bfloat16 keeps 8 significant bits (relative step 2⁻⁸ ≈ 0.4%); through ~10 convolutions
        // the logits stay within a few percent of the float32 ones, and are not identical.
        double scale = reference.abs().max().ToDouble();
        double diff = mixed.to(ScalarType.Float32).sub(reference).abs().max().ToDouble();
        Assert.True(diff <= 0.05 * scale, $"bfloat16 logits differ by {diff:E3} (max |logit| {scale:E3})");
        Assert.True(diff > 0, "the bfloat16 logits equal the float32 ones: nothing ran in bfloat16");
        double meanDiff = mixed.to(ScalarType.Float32).sub(reference).abs().mean().ToDouble();
        output.WriteLine($"bfloat16 vs float32 logits: max |diff| {diff:E2}, mean {meanDiff:E2}, max |logit| {scale:E2}");
        Assert.True(meanDiff <= 0.01 * scale, $"bfloat16 logits differ by {meanDiff:E3} on average (max |logit| {scale:E3})");
    }

    [Fact]
    public void MixedPrecision_TrainingStep_GivesFloat32GradientsForTheFloat32Weights()
    {
        manual_seed(6);
        using var model = new UNetModel(Small(batchNorm: true) with { DropoutRate = 0 });
        using var scope = NewDisposeScope();
        var x = randn(2, 1, 44, 44);
        int outSize = model.OutputSize(44);
        var target = randint(0, 2, new long[] { 2, outSize, outSize });
        using (MixedPrecision.Enter(ScalarType.BFloat16, DeviceType.CPU))
        {
            var logits = model.forward(x);
            Assert.Equal(ScalarType.BFloat16, logits.dtype);
            F.cross_entropy(logits.to(ScalarType.Float32), target).backward();
        }
        Assert.All(model.parameters(), p =>
        {
            Assert.Equal(ScalarType.Float32, p.dtype);
            var g = p.grad;
            Assert.NotNull(g);
            Assert.Equal(ScalarType.Float32, g!.dtype);
            Assert.True(g.isfinite().all().item<bool>());
        });
    }

    [Fact]
    public void MixedPrecision_RefusesFloat16OnCpu_AndAnyOtherType()
    {
        var e = Assert.Throws<ArgumentException>(() => MixedPrecision.Enter(ScalarType.Float16, DeviceType.CPU));
        Assert.Equal("device", e.ParamName);
        Assert.Contains("bfloat16", e.Message, StringComparison.Ordinal);
        Assert.Null(MixedPrecision.ComputeType);
        Assert.Equal("dtype", Assert.Throws<ArgumentException>(() => MixedPrecision.Enter(ScalarType.Float32, DeviceType.CPU)).ParamName);
        Assert.Equal("dtype", Assert.Throws<ArgumentException>(() => MixedPrecision.Enter(ScalarType.Float64, DeviceType.CUDA)).ParamName);
        Assert.Null(MixedPrecision.ComputeType);

        // Nested scopes restore the outer one.
        using (MixedPrecision.Enter(ScalarType.BFloat16, DeviceType.CPU))
        {
            using (MixedPrecision.Enter(ScalarType.BFloat16, DeviceType.CPU))
                Assert.Equal(ScalarType.BFloat16, MixedPrecision.ComputeType);
            Assert.Equal(ScalarType.BFloat16, MixedPrecision.ComputeType);
        }
        Assert.Null(MixedPrecision.ComputeType);
    }

    [Fact]
    public void RejectedOptions_FailInTheConstructor_NamingTheOption()
    {
        var ex = Assert.Throws<UNetOptionsException>(() => new UNetModel(UNetOptions.Reference with { Classes = 0, InputSize = 570 }));
        Assert.Contains(ex.Problems, p => p.StartsWith("Classes", StringComparison.Ordinal));
        Assert.Contains(ex.Problems, p => p.StartsWith("InputSize", StringComparison.Ordinal));
    }

    [Fact]
    public void BadInputs_GiveArgumentExceptionsThatSayWhatIsValid()
    {
        using var model = new UNetModel(Small());
        using var scope = NewDisposeScope();
        Assert.Contains("N×C×H×W", Assert.Throws<ArgumentException>(() => model.forward(zeros(44, 44))).Message);
        Assert.Contains("1 input channel", Assert.Throws<ArgumentException>(() => model.forward(zeros(1, 3, 44, 44))).Message);
        var ex = Assert.Throws<ArgumentException>(() => model.forward(zeros(1, 1, 45, 44)));
        Assert.Contains("height 45", ex.Message);
        Assert.Contains("44", ex.Message);
        Assert.Equal("input", ex.ParamName);
    }

    [Fact]
    public void SaveAndLoad_RoundTripOptionsAndWeights()
    {
        string path = Path.Combine(Path.GetTempPath(), $"unet-{Guid.NewGuid():N}.safetensors");
        try
        {
            var options = Small(ConvPadding.Same, batchNorm: true) with { Upsampling = Upsampling.TransposedConv2x2 };
            using var model = new UNetModel(options);
            model.Save(path);
            using var loaded = UNetModel.Load(path);
            Assert.Equal(options, loaded.Options);
            model.eval(); loaded.eval();
            using var scope = NewDisposeScope();
            var x = randn(1, 1, 32, 32);
            Assert.True(model.forward(x).allclose(loaded.forward(x), rtol: 0, atol: 0));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Load_OfAFileWithoutOptions_SaysSo()
    {
        string path = Path.Combine(Path.GetTempPath(), $"plain-{Guid.NewGuid():N}.safetensors");
        try
        {
            using (var scope = NewDisposeScope())
                Safetensors.Save(path, [KeyValuePair.Create("w", zeros(2))]);
            var ex = Assert.Throws<InvalidDataException>(() => UNetModel.Load(path));
            Assert.Contains("unet_options", ex.Message);
            Assert.Contains(Path.GetFileName(path), ex.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
