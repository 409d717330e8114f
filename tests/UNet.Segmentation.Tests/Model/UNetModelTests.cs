using TorchSharp;
using UNet.Segmentation.Model;
using UNet.Segmentation.Model.Precision;
using UNet.Segmentation.Serialization;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace UNet.Segmentation.Tests.Model;

public class UNetModelTests
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
