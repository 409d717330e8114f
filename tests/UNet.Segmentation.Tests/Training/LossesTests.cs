using UNet.Segmentation.Torch;
using UNet.Segmentation.Torch.NN;
using UNet.Segmentation.Training;

namespace UNet.Segmentation.Tests.Training;

[Collection("LiveTensors")]
public class LossesTests
{
    internal static (Tensor Classes, Tensor OneHot) RandomLabels(long n, long c, long h, long w)
    {
        var classes = Tensor.RandInt(0, c, [n, h, w]);
        return (classes, classes.OneHot(c).Permute(0, 3, 1, 2).To(ScalarType.Float32).Contiguous());
    }

    [Fact]
    public void PerfectPrediction_GivesDiceLossNearZero()
    {
        using var scope = TensorScope.Begin();
        LibTorch.ManualSeed(1);
        var (_, oneHot) = RandomLabels(2, 2, 12, 10);
        var logits = oneHot.Mul(40.0);
        Assert.True(Losses.SoftDice(logits, oneHot).ToDouble() < 1e-6);
        var coefficient = Losses.DiceCoefficient(logits, oneHot).ToArray<float>();
        Assert.All(coefficient, d => Assert.Equal(1.0, d, 6));
        Assert.True(Losses.CrossEntropy(logits, oneHot).ToDouble() < 1e-6);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(5)]
    public void UniformLogits_GiveCrossEntropyLnC_AndTheClosedFormDice(int c)
    {
        using var scope = TensorScope.Begin();
        LibTorch.ManualSeed(2);
        var (classes, oneHot) = RandomLabels(3, c, 6, 7);
        var logits = Tensor.Zeros([3, c, 6, 7]);
        Assert.Equal(Math.Log(c), Losses.CrossEntropy(logits, oneHot).ToDouble(), 1e-6);
        Assert.Equal(Math.Log(c), Losses.CrossEntropy(logits, classes).ToDouble(), 1e-6);

        // p = 1/C everywhere: dice(s, k) = (2·n/C + ε) / (HW/C² + n + ε) with n pixels of class k in sample s.
        var counts = oneHot.Sum([2, 3]).To(ScalarType.Float64).ToArray<double>();
        double expected = 0, hw = 42, eps = Losses.DiceEpsilon;
        foreach (double n in counts) expected += 1 - (2 * n / c + eps) / (hw / (c * c) + n + eps);
        expected /= counts.Length;
        Assert.Equal(expected, Losses.SoftDice(logits, oneHot).ToDouble(), 1e-6);
    }

    [Fact]
    public void OneHotAndClassIndices_GiveTheSameLossesAndGradients()
    {
        using var scope = TensorScope.Begin();
        LibTorch.ManualSeed(3);
        var (classes, oneHot) = RandomLabels(2, 3, 9, 8);
        var raw = Tensor.Randn([2, 3, 9, 8]).Mul(2.0);
        foreach (var kind in Enum.GetValues<LossKind>())
        {
            var a = raw.Clone().RequiresGrad_();
            var b = raw.Clone().RequiresGrad_();
            var la = Losses.Compute(kind, a, oneHot);
            var lb = Losses.Compute(kind, b, classes);
            Assert.Equal(la.ToDouble(), lb.ToDouble(), 1e-6);
            la.Backward();
            lb.Backward();
            Assert.True(a.Grad!.AllClose(b.Grad!, rtol: 1e-5, atol: 1e-8), $"{kind}: gradients differ");
        }
        // The log-softmax form also equals libtorch's cross-entropy with class probabilities.
        Assert.Equal(Functional.CrossEntropy(raw, oneHot).ToDouble(), Losses.CrossEntropy(raw, oneHot).ToDouble(), 1e-6);
    }

    [Fact]
    public void DiceCrossEntropy_IsTheSum_AndComputeDispatches()
    {
        using var scope = TensorScope.Begin();
        LibTorch.ManualSeed(4);
        var (_, oneHot) = RandomLabels(2, 2, 8, 8);
        var logits = Tensor.Randn([2, 2, 8, 8]);
        double ce = Losses.CrossEntropy(logits, oneHot).ToDouble(), dice = Losses.SoftDice(logits, oneHot).ToDouble();
        Assert.Equal(ce + dice, Losses.DiceCrossEntropy(logits, oneHot).ToDouble(), 1e-6);
        Assert.Equal(ce, Losses.Compute(LossKind.CrossEntropy, logits, oneHot).ToDouble(), 1e-7);
        Assert.Equal(dice, Losses.Compute(LossKind.Dice, logits, oneHot).ToDouble(), 1e-7);
        Assert.Throws<ArgumentOutOfRangeException>(() => Losses.Compute((LossKind)7, logits, oneHot));
    }

    [Theory]
    [InlineData(ScalarType.Float16)]
    [InlineData(ScalarType.BFloat16)]
    [InlineData(ScalarType.Float64)]
    public void OtherFloatLogits_AreCastToFloat32_AndGradientsKeepTheirType(ScalarType dtype)
    {
        using var scope = TensorScope.Begin();
        LibTorch.ManualSeed(5);
        var (_, oneHot) = RandomLabels(1, 2, 8, 8);
        var logits = Tensor.Randn([1, 2, 8, 8]).To(dtype).RequiresGrad_();
        var loss = Losses.DiceCrossEntropy(logits, oneHot.To(dtype));
        Assert.Equal(ScalarType.Float32, loss.Dtype);
        var reference = Losses.DiceCrossEntropy(logits.Detach().To(ScalarType.Float32), oneHot).ToDouble();
        Assert.Equal(reference, loss.ToDouble(), 1e-6);
        loss.Backward();
        Assert.Equal(dtype, logits.Grad!.Dtype);
    }

    [Fact]
    public void L2_IsHalfTheSquaredNormTimesTheDecay_OverTrainableTensors()
    {
        using var scope = TensorScope.Begin();
        using var w = new Parameter(Tensor.Full([2, 3], 2));
        using var b = new Parameter(Tensor.From(new float[] { 1, -1 }));
        using var frozen = new Parameter(Tensor.Full([4], 10), requiresGrad: false);
        var l2 = Losses.L2([w, b, frozen], 0.1);
        Assert.Equal(0.1 * (6 * 4 + 2) / 2, l2.ToDouble(), 1e-6);
        l2.Backward();
        Assert.True(w.Grad!.AllClose(w.Mul(0.1)));
        Assert.True(b.Grad!.AllClose(b.Mul(0.1)));
        Assert.Equal(0, Losses.L2([], 0.1).ToDouble());
        Assert.Equal(0.5 * 4 * 5e-4 * 3, Losses.L2([Tensor.Ones([3]).Mul(2.0).RequiresGrad_()]).ToDouble(), 1e-9);
        Assert.Equal("weightDecay", Assert.Throws<ArgumentOutOfRangeException>(() => Losses.L2([w], -1)).ParamName);
        Assert.Equal("weightDecay", Assert.Throws<ArgumentOutOfRangeException>(() => Losses.L2([w], double.NaN)).ParamName);
    }

    public static TheoryData<long[], ScalarType, long[], ScalarType, string> BadShapes() => new()
    {
        { [2, 8, 8], ScalarType.Float32, [2, 8, 8], ScalarType.Int64, "logits" },
        { [1, 2, 2, 8, 8], ScalarType.Float32, [1, 2, 2, 8, 8], ScalarType.Float32, "logits" },
        { [2, 2, 8, 8], ScalarType.Int64, [2, 8, 8], ScalarType.Int64, "logits" },
        { [2, 2, 8, 8], ScalarType.Float32, [2, 3, 8, 8], ScalarType.Float32, "labels" },
        { [2, 2, 8, 8], ScalarType.Float32, [1, 2, 8, 8], ScalarType.Float32, "labels" },
        { [2, 2, 8, 8], ScalarType.Float32, [2, 2, 8, 7], ScalarType.Float32, "labels" },
        { [2, 2, 8, 8], ScalarType.Float32, [2, 8, 7], ScalarType.Int64, "labels" },
        { [2, 2, 8, 8], ScalarType.Float32, [2, 8, 8], ScalarType.Float32, "labels" },
        { [2, 2, 8, 8], ScalarType.Float32, [2, 64], ScalarType.Int64, "labels" },
        { [2, 2, 8, 8], ScalarType.Float32, [2, 1, 2, 8, 8], ScalarType.Float32, "labels" },
    };

    [Theory]
    [MemberData(nameof(BadShapes))]
    public void BadShapes_AreRejected_NamingTheArgument(long[] logitShape, ScalarType logitType, long[] labelShape, ScalarType labelType, string parameter)
    {
        using var scope = TensorScope.Begin();
        var logits = Tensor.Zeros(logitShape, logitType);
        var labels = Tensor.Zeros(labelShape, labelType);
        foreach (var kind in Enum.GetValues<LossKind>())
            Assert.Equal(parameter, Assert.Throws<ArgumentException>(() => Losses.Compute(kind, logits, labels)).ParamName);
        Assert.Equal(parameter, Assert.Throws<ArgumentException>(() => Losses.DiceCoefficient(logits, labels)).ParamName);
        Assert.Equal(parameter, Assert.Throws<ArgumentException>(() => Metrics.Compute(logits, labels)).ParamName);
        Assert.Equal(parameter, Assert.Throws<ArgumentException>(() => new MetricsAccumulator().Add(logits, labels)).ParamName);
        Assert.Throws<ArgumentNullException>(() => Losses.SoftDice(null!, labels));
        Assert.Throws<ArgumentNullException>(() => Losses.CrossEntropy(logits, null!));
    }

    [Fact]
    public void Losses_FreeTheirIntermediates()
    {
        LibTorch.ManualSeed(6);
        var (classes, oneHot) = RandomLabels(2, 2, 16, 16);
        using var logits = Tensor.Randn([2, 2, 16, 16]).RequiresGrad_();
        using (classes)
        using (oneHot)
        {
            long baseline = UNet.Segmentation.Torch.Tests.LiveTensors.SettledCount();
            using (var loss = Losses.DiceCrossEntropy(logits, oneHot)) loss.Backward();
            using (var loss = Losses.DiceCrossEntropy(logits, classes)) Assert.True(loss.ToDouble() > 0);
            Assert.Equal(512, Metrics.Compute(logits, oneHot).Pixels);
            logits.Grad?.Dispose();
            Assert.Equal(baseline, LibTorch.LiveTensorCount);
        }
    }
}
