using TorchSharp;
using TorchSharp.Modules;
using UNet.Segmentation.Tests.Shared;
using UNet.Segmentation.Training;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace UNet.Segmentation.Tests.Training;

[Collection("LiveTensors")]
public class LossesTests
{
    /// <summary>Random class indices N×H×W (int64) and their one-hot float32 N×C×H×W, in the caller's dispose scope.</summary>
    internal static (Tensor Classes, Tensor OneHot) RandomLabels(long n, long c, long h, long w)
    {
        using var scope = NewDisposeScope();
        var classes = randint(0, c, [n, h, w], ScalarType.Int64);
        var oneHot = F.one_hot(classes, c).permute(0, 3, 1, 2).to(ScalarType.Float32).contiguous();
        return (classes.MoveToOuterDisposeScope(), oneHot.MoveToOuterDisposeScope());
    }

    [Fact]
    public void PerfectPrediction_GivesDiceLossNearZero()
    {
        using var scope = NewDisposeScope();
        manual_seed(1);
        var (_, oneHot) = RandomLabels(2, 2, 12, 10);
        var logits = oneHot.mul(40.0);
        Assert.True(Losses.SoftDice(logits, oneHot).ToDouble() < 1e-6);
        var coefficient = Losses.DiceCoefficient(logits, oneHot).data<float>().ToArray();
        Assert.All(coefficient, d => Assert.Equal(1.0, d, 6));
        Assert.True(Losses.CrossEntropy(logits, oneHot).ToDouble() < 1e-6);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(5)]
    public void UniformLogits_GiveCrossEntropyLnC_AndTheClosedFormDice(int c)
    {
        using var scope = NewDisposeScope();
        manual_seed(2);
        var (classes, oneHot) = RandomLabels(3, c, 6, 7);
        var logits = zeros(3, c, 6, 7);
        Assert.Equal(Math.Log(c), Losses.CrossEntropy(logits, oneHot).ToDouble(), 1e-6);
        Assert.Equal(Math.Log(c), Losses.CrossEntropy(logits, classes).ToDouble(), 1e-6);

        // p = 1/C everywhere: dice(s, k) = (2·n/C + ε) / (HW/C² + n + ε) with n pixels of class k in sample s.
        var counts = oneHot.sum([2, 3]).to(ScalarType.Float64).data<double>().ToArray();
        double expected = 0, hw = 42, eps = Losses.DiceEpsilon;
        foreach (double n in counts) expected += 1 - (2 * n / c + eps) / (hw / (c * c) + n + eps);
        expected /= counts.Length;
        Assert.Equal(expected, Losses.SoftDice(logits, oneHot).ToDouble(), 1e-6);
    }

    [Fact]
    public void OneHotAndClassIndices_GiveTheSameLossesAndGradients()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        var (classes, oneHot) = RandomLabels(2, 3, 9, 8);
        var raw = randn(2, 3, 9, 8).mul(2.0);
        foreach (var kind in Enum.GetValues<LossKind>())
        {
            var a = raw.clone().requires_grad_();
            var b = raw.clone().requires_grad_();
            var la = Losses.Compute(kind, a, oneHot);
            var lb = Losses.Compute(kind, b, classes);
            Assert.Equal(la.ToDouble(), lb.ToDouble(), 1e-6);
            la.backward();
            lb.backward();
            Assert.True(a.grad!.allclose(b.grad!, rtol: 1e-5, atol: 1e-8), $"{kind}: gradients differ");
        }
        // The log-softmax form also equals libtorch's cross-entropy with class probabilities.
        Assert.Equal(F.cross_entropy(raw, oneHot).ToDouble(), Losses.CrossEntropy(raw, oneHot).ToDouble(), 1e-6);
    }

    [Fact]
    public void DiceCrossEntropy_IsTheSum_AndComputeDispatches()
    {
        using var scope = NewDisposeScope();
        manual_seed(4);
        var (_, oneHot) = RandomLabels(2, 2, 8, 8);
        var logits = randn(2, 2, 8, 8);
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
        using var scope = NewDisposeScope();
        manual_seed(5);
        var (_, oneHot) = RandomLabels(1, 2, 8, 8);
        var logits = randn(1, 2, 8, 8).to(dtype).requires_grad_();
        var loss = Losses.DiceCrossEntropy(logits, oneHot.to(dtype));
        Assert.Equal(ScalarType.Float32, loss.dtype);
        var reference = Losses.DiceCrossEntropy(logits.detach().to(ScalarType.Float32), oneHot).ToDouble();
        Assert.Equal(reference, loss.ToDouble(), 1e-6);
        loss.backward();
        Assert.Equal(dtype, logits.grad!.dtype);
    }

    [Fact]
    public void L2_IsHalfTheSquaredNormTimesTheDecay_OverTrainableTensors()
    {
        using var scope = NewDisposeScope();
        using var w = new Parameter(full([2, 3], 2, ScalarType.Float32));
        using var b = new Parameter(tensor(new float[] { 1, -1 }));
        using var frozen = new Parameter(full([4], 10, ScalarType.Float32), requires_grad: false);
        var l2 = Losses.L2([w, b, frozen], 0.1);
        Assert.Equal(0.1 * (6 * 4 + 2) / 2, l2.ToDouble(), 1e-6);
        l2.backward();
        Assert.True(w.grad!.allclose(w.mul(0.1)));
        Assert.True(b.grad!.allclose(b.mul(0.1)));
        Assert.Equal(0, Losses.L2([], 0.1).ToDouble());
        Assert.Equal(0.5 * 4 * 5e-4 * 3, Losses.L2([ones(3).mul(2.0).requires_grad_()]).ToDouble(), 1e-9);
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
        using var scope = NewDisposeScope();
        var logits = zeros(logitShape, logitType);
        var labels = zeros(labelShape, labelType);
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
        manual_seed(6);
        var (classes, oneHot) = RandomLabels(2, 2, 16, 16);
        using var logits = randn(2, 2, 16, 16).requires_grad_();
        using (classes)
        using (oneHot)
        {
            // Warm-up: whatever libtorch or TorchSharp make once per process is not a leak.
            using (var loss = Losses.DiceCrossEntropy(logits, oneHot)) loss.backward();
            long baseline = LiveTensors.SettledCount();
            using (var loss = Losses.DiceCrossEntropy(logits, oneHot)) loss.backward();
            using (var loss = Losses.DiceCrossEntropy(logits, classes)) Assert.True(loss.ToDouble() > 0);
            using (var loss = Losses.Compute(LossKind.Dice, logits, classes)) Assert.True(loss.ToDouble() > 0);
            using (var dice = Losses.DiceCoefficient(logits, oneHot)) Assert.Equal(2, dice.shape[0]);
            using (var l2 = Losses.L2([logits])) Assert.True(l2.ToDouble() > 0);
            Assert.Equal(512, Metrics.Compute(logits, oneHot).Pixels);
            var accumulator = new MetricsAccumulator();
            accumulator.Add(logits, classes);
            Assert.Equal(512, accumulator.Result().Pixels);
            // Read without collecting: a tensor left for the finalizer still counts here.
            Assert.Equal(baseline, torch.Tensor.TotalCount);
        }
    }
}
