using UNet.Segmentation.Model;
using UNet.Segmentation.Torch;
using UNet.Segmentation.Torch.NN;

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
        model.Eval();
        using var scope = TensorScope.Begin();
        using var inference = Autograd.InferenceMode();
        var y = model.Forward(Tensor.Randn([1, 1, 572, 572]));
        Assert.Equal(new long[] { 1, 2, 388, 388 }, y.Shape);
        Assert.True(y.IsFinite().LogicalNot().Sum().ToInt64() == 0);
    }

    [Fact]
    public void StateDictKeys_FollowTheDocumentedScheme()
    {
        using var model = new UNetModel(Small(batchNorm: true));
        var keys = model.StateDict().Keys.ToList();
        foreach (var key in new[]
                 {
                     "input_block.conv1.weight", "input_block.bn1.running_mean", "input_block.conv2.weight",
                     "down_blocks.0.conv1.weight", "bottleneck.conv2.weight", "bottleneck.upconv.weight", "bottleneck.upconv.bias",
                     "up_blocks.0.conv1.weight", "up_blocks.0.upconv.weight", "output_block.conv3.weight", "output_block.conv3.bias",
                 })
            Assert.Contains(key, keys);
        Assert.DoesNotContain("input_block.conv1.bias", keys); // batch norm replaces the conv bias
        Assert.Single(model.UpBlocks.Items);
        Assert.Single(model.DownBlocks.Items);
    }

    [Fact]
    public void Initialisation_IsGlorotUniformWithZeroBiases_ByDefault()
    {
        using var model = new UNetModel(UNetOptions.Reference with { BaseFilters = 8, Depth = 2, InputSize = 44 });
        using var scope = TensorScope.Begin();
        var w = model.InputBlock.NamedParameters().First(p => p.Name == "conv2.weight").Parameter;
        double bound = Math.Sqrt(6.0 / (8 * 9 + 8 * 9));
        Assert.InRange(w.Abs().Max().ToDouble(), 0.9 * bound, bound);
        Assert.All(model.NamedParameters().Where(p => p.Name.EndsWith("bias", StringComparison.Ordinal)),
            p => Assert.Equal(0, p.Parameter.Abs().Sum().ToDouble()));
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
        using var scope = TensorScope.Begin();
        int size = options.InputSize, outSize = model.OutputSize(size);
        var logits = model.Forward(Tensor.Randn([2, 3, size, size]));
        Assert.Equal(new long[] { 2, 3, outSize, outSize }, logits.Shape);
        Functional.CrossEntropy(logits, Tensor.RandInt(0, 3, [2, outSize, outSize])).Backward();
        Assert.All(model.Parameters(), p =>
        {
            var g = p.Grad;
            Assert.NotNull(g);
            Assert.Equal(p.Shape, g!.Shape);
        });
        if (channelsLast) Assert.True(model.InputBlock.Parameters()[0].IsContiguous(MemoryFormat.ChannelsLast));
    }

    [Fact]
    public void ChannelsLast_GivesTheSameLogitsAsContiguous()
    {
        using var a = new UNetModel(Small());
        using var b = new UNetModel(Small() with { ChannelsLast = true });
        b.LoadStateDict(a.StateDict());
        a.Eval(); b.Eval();
        using var scope = TensorScope.Begin();
        var x = Tensor.Randn([1, 1, 44, 44]);
        Assert.True(a.Forward(x).AllClose(b.Forward(x), rtol: 1e-4, atol: 1e-5));
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
        using var scope = TensorScope.Begin();
        Assert.Contains("N×C×H×W", Assert.Throws<ArgumentException>(() => model.Forward(Tensor.Zeros([44, 44]))).Message);
        Assert.Contains("1 input channel", Assert.Throws<ArgumentException>(() => model.Forward(Tensor.Zeros([1, 3, 44, 44]))).Message);
        var ex = Assert.Throws<ArgumentException>(() => model.Forward(Tensor.Zeros([1, 1, 45, 44])));
        Assert.Contains("height 45", ex.Message);
        Assert.Contains("44", ex.Message);
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
            model.Eval(); loaded.Eval();
            using var scope = TensorScope.Begin();
            var x = Tensor.Randn([1, 1, 32, 32]);
            Assert.True(model.Forward(x).AllClose(loaded.Forward(x), 0, 0));
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
            using (var scope = TensorScope.Begin())
                UNet.Segmentation.Torch.Serialization.Safetensors.Save(path, [KeyValuePair.Create("w", Tensor.Zeros([2]))]);
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
