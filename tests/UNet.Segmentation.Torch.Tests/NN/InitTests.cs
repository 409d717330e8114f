using UNet.Segmentation.Torch.NN;

namespace UNet.Segmentation.Torch.Tests.NN;

public class InitTests
{
    [Fact]
    public void Fans_FollowPyTorch_ForConvAndTransposedConvWeights()
    {
        using var scope = TensorScope.Begin();
        Assert.Equal((3L * 9, 8L * 9), Init.Fans(Tensor.Empty([8, 3, 3, 3])));
        Assert.Equal((5L * 4, 7L * 4), Init.Fans(Tensor.Empty([7, 5, 2, 2])));
        Assert.Throws<ArgumentException>(() => Init.Fans(Tensor.Empty([5])));
    }

    [Theory]
    [InlineData("xavier_uniform")]
    [InlineData("kaiming_uniform")]
    public void UniformInitialisers_StayInsideTheirBound_AndFillIt(string kind)
    {
        using var scope = TensorScope.Begin();
        LibTorch.ManualSeed(1);
        var w = Tensor.Empty([64, 32, 3, 3]);
        double bound = kind == "xavier_uniform"
            ? Math.Sqrt(6.0 / (32 * 9 + 64 * 9))
            : Math.Sqrt(3.0) * Init.Gain(Nonlinearity.Relu) / Math.Sqrt(32 * 9);
        if (kind == "xavier_uniform") Init.XavierUniform_(w); else Init.KaimingUniform_(w, nonlinearity: Nonlinearity.Relu);
        Assert.InRange(w.Abs().Max().ToDouble(), 0.95 * bound, bound);
        Assert.InRange(w.Mean().ToDouble(), -0.02 * bound, 0.02 * bound);
    }

    [Fact]
    public void NormalInitialisers_HaveTheirStandardDeviation()
    {
        using var scope = TensorScope.Begin();
        LibTorch.ManualSeed(2);
        var w = Tensor.Empty([128, 64, 3, 3]);
        Init.KaimingNormal_(w, mode: FanMode.FanOut, nonlinearity: Nonlinearity.Relu);
        double expected = Math.Sqrt(2.0) / Math.Sqrt(128 * 9);
        double std = w.Square().Mean().Sqrt().ToDouble();
        Assert.InRange(std, 0.98 * expected, 1.02 * expected);
        Init.XavierNormal_(w, gain: 2);
        expected = 2 * Math.Sqrt(2.0 / (64 * 9 + 128 * 9));
        Assert.InRange(w.Square().Mean().Sqrt().ToDouble(), 0.98 * expected, 1.02 * expected);
    }

    [Fact]
    public void Initialisers_DoNotRecordAGraph_OnParameters()
    {
        using var scope = TensorScope.Begin();
        using var p = new Parameter(Tensor.Empty([4, 4]));
        Init.Zeros_(p);
        Assert.True(p.IsLeaf);
        Assert.Equal(0, p.Abs().Sum().ToDouble());
        Init.Constant_(p, 0.5);
        Assert.Equal(8.0, p.Sum().ToDouble());
    }

    [Fact]
    public void Gains_MatchTorchNnInit()
    {
        Assert.Equal(Math.Sqrt(2.0), Init.Gain(Nonlinearity.Relu), 12);
        Assert.Equal(5.0 / 3, Init.Gain(Nonlinearity.Tanh), 12);
        Assert.Equal(Math.Sqrt(2.0 / (1 + 5.0)), Init.Gain(Nonlinearity.LeakyRelu, Math.Sqrt(5)), 12);
    }
}
