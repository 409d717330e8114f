namespace UNet.Segmentation.Torch.Tests;

/// <summary>
/// <see cref="Functional.ConvTranspose2dStride2"/> (the sub-pixel form) against libtorch's own
/// stride-2 transposed convolution cropped to twice the input: values and every gradient, both
/// kernel sizes, odd sizes, both memory formats; bad shapes rejected with a typed exception.
/// </summary>
public class ConvTransposeStride2Tests
{
    public static TheoryData<int, int, int, bool, bool> Cases() => new()
    {
        // kernel, height, width, bias, channels-last
        { 3, 5, 7, true, false },
        { 3, 6, 6, false, true },
        { 3, 1, 1, true, false },
        { 2, 5, 7, true, false },
        { 2, 4, 3, false, true },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesTheTransposedConvolutionCroppedToTwiceTheInput(int k, int h, int w, bool withBias, bool channelsLast)
    {
        using var scope = TensorScope.Begin();
        LibTorch.ManualSeed((ulong)(k * 100 + h * 10 + w));
        var format = channelsLast ? MemoryFormat.ChannelsLast : MemoryFormat.Contiguous;
        var x = Tensor.Randn([2, 6, h, w], ScalarType.Float64).Contiguous(format).RequiresGrad_();
        var weight = Tensor.Randn([6, 4, k, k], ScalarType.Float64).RequiresGrad_();
        var bias = withBias ? Tensor.Randn([4], ScalarType.Float64).RequiresGrad_() : null;
        var upstream = Tensor.Randn([2, 4, 2 * h, 2 * w], ScalarType.Float64);

        var expected = Functional.ConvTranspose2d(x, weight, bias, stride: 2).Narrow(2, 0, 2 * h).Narrow(3, 0, 2 * w);
        expected.Backward(upstream);
        var (gx, gw, gb) = (x.Grad!.Clone(), weight.Grad!.Clone(), bias?.Grad!.Clone());
        x.Grad!.Zero_();
        weight.Grad!.Zero_();
        bias?.Grad!.Zero_();

        var actual = Functional.ConvTranspose2dStride2(x, weight, bias);
        Assert.Equal([2L, 4, 2 * h, 2 * w], actual.Shape);
        Assert.True(actual.AllClose(expected, 1e-10, 1e-10), $"max diff {actual.Sub(expected).Abs().Max().ToDouble()}");
        actual.Backward(upstream);
        Assert.True(x.Grad!.AllClose(gx, 1e-10, 1e-10), "input gradient");
        Assert.True(weight.Grad!.AllClose(gw, 1e-10, 1e-10), "weight gradient");
        if (bias is not null) Assert.True(bias.Grad!.AllClose(gb!, 1e-10, 1e-10), "bias gradient");
    }

    [Fact]
    public void Float32_AgreesWithinFloatRounding()
    {
        using var scope = TensorScope.Begin();
        LibTorch.ManualSeed(5);
        var x = Tensor.Randn([1, 32, 12, 12]);
        var weight = Tensor.Randn([32, 16, 3, 3]).Mul(0.1);
        var expected = Functional.ConvTranspose2d(x, weight, stride: 2).Narrow(2, 0, 24).Narrow(3, 0, 24);
        Assert.True(Functional.ConvTranspose2dStride2(x, weight).AllClose(expected, 1e-5, 1e-5));
    }

    [Theory]
    [InlineData(new long[] { 6, 4, 4, 4 }, new long[] { 1, 6, 5, 5 }, "k 2 or 3")]
    [InlineData(new long[] { 6, 4, 3, 2 }, new long[] { 1, 6, 5, 5 }, "k 2 or 3")]
    [InlineData(new long[] { 6, 4, 3, 3 }, new long[] { 1, 5, 5, 5 }, "input must be N x 6")]
    [InlineData(new long[] { 6, 4, 3, 3 }, new long[] { 6, 5, 5 }, "input must be N x 6")]
    public void BadShapes_AreRejectedBeforeLibtorch(long[] weightShape, long[] inputShape, string expected)
    {
        using var scope = TensorScope.Begin();
        var e = Assert.Throws<TorchException>(() => Functional.ConvTranspose2dStride2(Tensor.Zeros(inputShape), Tensor.Zeros(weightShape)));
        Assert.Equal(TorchErrorKind.InvalidArgument, e.Kind);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NoHandleLeaks()
    {
        long before = LiveTensors.SettledCount();
        using (var scope = TensorScope.Begin())
        {
            var x = Tensor.Randn([1, 4, 5, 5]).RequiresGrad_();
            Functional.ConvTranspose2dStride2(x, Tensor.Randn([4, 2, 3, 3])).Sum().Backward();
        }
        Assert.Equal(before, LiveTensors.SettledCount());
    }
}
