namespace UNet.Segmentation.Torch.Tests;

public class FunctionalTests
{
    // ---- convolutions -----------------------------------------------------------------------

    [Fact]
    public void Conv2d_OneByOneWithWeightTwo_DoublesTheInput_BiasAdds()
    {
        using var scope = TensorScope.Begin();
        LibTorch.ManualSeed(21);
        var x = Tensor.Randn([2, 1, 5, 5]);
        var w = Tensor.Full([1, 1, 1, 1], 2);
        Assert.True(Functional.Conv2d(x, w).AllClose(x * 2, 0, 1e-6));
        var withBias = Functional.Conv2d(x, w, Tensor.Full([1], 0.5));
        Assert.True(withBias.AllClose(x * 2 + 0.5, 0, 1e-6));
    }

    [Fact]
    public void Conv2d_MixesChannelsWithTheWeightMatrix()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.Cat([Tensor.Full([1, 1, 2, 2], 1), Tensor.Full([1, 1, 2, 2], 10)], 1);
        // out0 = in0 + in1, out1 = in0 − in1.
        var w = Tensor.From<float>([1, 1, 1, -1], [2, 2, 1, 1]);
        var y = Functional.Conv2d(x, w);
        Assert.Equal(new long[] { 1, 2, 2, 2 }, y.Shape);
        Assert.Equal(new float[] { 11, 11, 11, 11, -9, -9, -9, -9 }, y.ToArray<float>());
    }

    [Theory]
    [InlineData(3, 1, 0, 1, 10, 8)]
    [InlineData(3, 1, 1, 1, 10, 10)]
    [InlineData(3, 2, 1, 1, 10, 5)]
    [InlineData(3, 1, 0, 2, 10, 6)]
    [InlineData(2, 2, 0, 1, 9, 4)]
    public void Conv2d_OutputSize_FollowsTheFormula(int k, int s, int p, int d, int n, int expected)
    {
        using var scope = TensorScope.Begin();
        var y = Functional.Conv2d(Tensor.Zeros([1, 2, n, n + 1]), Tensor.Zeros([3, 2, k, k]), stride: s, padding: p, dilation: d);
        Assert.Equal(new long[] { 1, 3, expected, (n + 1 + 2 * p - d * (k - 1) - 1) / s + 1 }, y.Shape);
    }

    [Fact]
    public void Conv2d_RectangularSizesAndGroups()
    {
        using var scope = TensorScope.Begin();
        var y = Functional.Conv2d(Tensor.Ones([1, 4, 6, 8]), Tensor.Ones([4, 2, 3, 1]), stride: (1, 2), padding: (1, 0), groups: 2);
        Assert.Equal(new long[] { 1, 4, 6, 4 }, y.Shape);
        // Interior: 2 input channels per group × 3 taps = 6.
        Assert.Equal(6.0, y.Max().ToDouble());
        Assert.Throws<TorchException>(() => Functional.Conv2d(Tensor.Ones([1, 4, 6, 8]), Tensor.Ones([4, 3, 3, 3]), groups: 2));
    }

    [Theory]
    [InlineData(3, 2, 0, 0, 5, 11)]   // n → 2n + 1
    [InlineData(3, 2, 0, 0, 1, 3)]
    [InlineData(2, 2, 0, 0, 5, 10)]   // the paper's 2×2 up-convolution doubles
    [InlineData(3, 2, 1, 1, 5, 10)]   // padding 1 + output padding 1 doubles too
    [InlineData(3, 1, 1, 0, 7, 7)]
    public void ConvTranspose2d_OutputSize_FollowsTheFormula(int k, int s, int p, int op, int n, int expected)
    {
        using var scope = TensorScope.Begin();
        // Transposed-convolution weights are in × out × kH × kW.
        var y = Functional.ConvTranspose2d(Tensor.Zeros([2, 4, n, n]), Tensor.Zeros([4, 3, k, k]), stride: s, padding: p, outputPadding: op);
        Assert.Equal(new long[] { 2, 3, expected, expected }, y.Shape);
        Assert.Equal((n - 1) * s - 2 * p + (k - 1) + op + 1, expected);
    }

    [Fact]
    public void ConvTranspose2d_OneByOneStrideTwo_SpreadsTheInputWithZerosBetween()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.From<float>([1, 2, 3, 4], [1, 1, 2, 2]);
        var y = Functional.ConvTranspose2d(x, Tensor.Full([1, 1, 1, 1], 3), Tensor.Full([1], 1), stride: 2);
        Assert.Equal(new long[] { 1, 1, 3, 3 }, y.Shape);
        Assert.Equal(new float[] { 4, 1, 7, 1, 1, 1, 10, 1, 13 }, y.ToArray<float>());
    }

    [Fact]
    public void ConvTranspose2d_TwoByTwoStrideTwo_OfOnes_TilesTheKernel()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.From<float>([1, 2], [1, 1, 1, 2]);
        var w = Tensor.From<float>([1, 2, 3, 4], [1, 1, 2, 2]);
        var y = Functional.ConvTranspose2d(x, w, stride: 2);
        Assert.Equal(new long[] { 1, 1, 2, 4 }, y.Shape);
        Assert.Equal(new float[] { 1, 2, 2, 4, 3, 4, 6, 8 }, y.ToArray<float>());
    }

    // ---- pooling ---------------------------------------------------------------------------

    private static Tensor Grid4x4() => Tensor.Arange(0, 16).Reshape(1, 1, 4, 4);

    [Fact]
    public void MaxPool2d_OnAKnown4x4()
    {
        using var scope = TensorScope.Begin();
        var y = Functional.MaxPool2d(Grid4x4(), 2);
        Assert.Equal(new long[] { 1, 1, 2, 2 }, y.Shape);
        Assert.Equal(new float[] { 5, 7, 13, 15 }, y.ToArray<float>());

        var s1 = Functional.MaxPool2d(Grid4x4(), 3, stride: 1);
        Assert.Equal(new float[] { 10, 11, 14, 15 }, s1.ToArray<float>());

        var padded = Functional.MaxPool2d(Grid4x4().Neg(), 2, stride: 2, padding: 1);
        Assert.Equal(new long[] { 1, 1, 3, 3 }, padded.Shape);
        // Padding never wins a max, even against negative values.
        Assert.Equal(new float[] { 0, -1, -3, -4, -5, -7, -12, -13, -15 }, padded.ToArray<float>());
    }

    [Fact]
    public void MaxPool2d_CeilMode_KeepsThePartialWindow()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.Arange(0, 25).Reshape(1, 1, 5, 5);
        Assert.Equal(new long[] { 1, 1, 2, 2 }, Functional.MaxPool2d(x, 2).Shape);
        var c = Functional.MaxPool2d(x, 2, ceilMode: true);
        Assert.Equal(new long[] { 1, 1, 3, 3 }, c.Shape);
        Assert.Equal(new float[] { 6, 8, 9, 16, 18, 19, 21, 23, 24 }, c.ToArray<float>());
    }

    [Fact]
    public void AvgPool2d_OnAKnown4x4()
    {
        using var scope = TensorScope.Begin();
        var y = Functional.AvgPool2d(Grid4x4(), 2);
        Assert.Equal(new float[] { 2.5f, 4.5f, 10.5f, 12.5f }, y.ToArray<float>());

        // With padding, count_include_pad decides the divisor at the corners.
        var incl = Functional.AvgPool2d(Grid4x4(), 2, stride: 2, padding: 1);
        var excl = Functional.AvgPool2d(Grid4x4(), 2, stride: 2, padding: 1, countIncludePad: false);
        Assert.Equal(0f / 4, incl.ToArray<float>()[0]);
        Assert.Equal(15f / 4, incl.ToArray<float>()[8]);
        Assert.Equal(15f, excl.ToArray<float>()[8]);
        Assert.Equal((1f + 2f) / 2, excl.ToArray<float>()[1]);
    }

    // ---- dropout ---------------------------------------------------------------------------

    [Fact]
    public void Dropout_InEval_IsTheIdentity()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.Randn([1000]);
        var y = Functional.Dropout(x, 0.5, training: false);
        Assert.Equal(x.ToArray<float>(), y.ToArray<float>());
    }

    [Fact]
    public void Dropout_InTraining_ZeroesAboutPAndScalesTheRest()
    {
        using var scope = TensorScope.Begin();
        LibTorch.ManualSeed(31);
        const double p = 0.3;
        const int n = 100_000;
        var y = Functional.Dropout(Tensor.Ones([n]), p, training: true).ToArray<float>();
        int zeros = y.Count(v => v == 0);
        // Binomial standard deviation: sqrt(n p (1 − p)) ≈ 145; allow about 7 of them.
        Assert.InRange(zeros, (int)(n * p) - 1000, (int)(n * p) + 1000);
        float kept = (float)(1 / (1 - p));
        Assert.All(y.Where(v => v != 0), v => Assert.Equal(kept, v, 1e-6f));
    }

    [Fact]
    public void Dropout_PZeroKeepsEverything_POneDropsEverything()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.Randn([100]);
        Assert.Equal(x.ToArray<float>(), Functional.Dropout(x, 0, training: true).ToArray<float>());
        Assert.Equal(0.0, Functional.Dropout(x, 1, training: true).Abs().Sum().ToDouble());
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(1.0001)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void Dropout_ProbabilityOutsideUnitInterval_ThrowsArgumentOutOfRange(double p)
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.Ones([4]);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Functional.Dropout(x, p));
        Assert.Equal("p", e.ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => Functional.Dropout(x, p, training: false));
    }

    // ---- batch norm ------------------------------------------------------------------------

    [Fact]
    public void BatchNorm_InTraining_NormalisesPerChannel_AndUpdatesRunningStats()
    {
        using var scope = TensorScope.Begin();
        LibTorch.ManualSeed(41);
        var x = Tensor.Randn([8, 3, 5, 5], ScalarType.Float64) * 3 + 5;
        var runningMean = Tensor.Zeros([3], ScalarType.Float64);
        var runningVar = Tensor.Ones([3], ScalarType.Float64);
        var y = Functional.BatchNorm(x, runningMean, runningVar, training: true, momentum: 0.1, eps: 1e-5);

        Assert.Equal(x.Shape, y.Shape);
        var mean = y.Mean([0, 2, 3]);
        var centred = y - y.Mean([0, 2, 3], keepDim: true);
        var biasedVar = (centred * centred).Mean([0, 2, 3]);
        Assert.True(mean.AllClose(Tensor.Zeros([3], ScalarType.Float64), 0, 1e-9));
        Assert.True(biasedVar.AllClose(Tensor.Ones([3], ScalarType.Float64), 0, 1e-5));

        long m = 8 * 5 * 5;
        var batchMean = x.Mean([0, 2, 3]);
        var xc = x - x.Mean([0, 2, 3], keepDim: true);
        var unbiasedVar = (xc * xc).Sum([0, 2, 3]) / (m - 1);
        Assert.True(runningMean.AllClose(batchMean * 0.1, 1e-9, 1e-12));
        Assert.True(runningVar.AllClose(unbiasedVar * 0.1 + 0.9, 1e-9, 1e-12));
        // The batch really was far from N(0, 1), so the update moved the stats.
        Assert.True(runningMean.Min().ToDouble() > 0.3);
    }

    [Fact]
    public void BatchNorm_InEval_UsesTheRunningStats_WeightAndBias()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.From<double>([1, 2, 3, 4], [1, 2, 1, 2]);
        var runningMean = Tensor.From(new[] { 1.0, 2.0 });
        var runningVar = Tensor.From(new[] { 4.0, 1.0 });
        var weight = Tensor.From(new[] { 2.0, 1.0 });
        var bias = Tensor.From(new[] { 0.0, 10.0 });
        var y = Functional.BatchNorm(x, runningMean, runningVar, weight, bias, training: false, eps: 0);
        // channel 0: (x − 1) / 2 · 2; channel 1: (x − 2) / 1 + 10
        Assert.Equal(new[] { 0.0, 1.0, 11.0, 12.0 }, y.ToArray<double>());
        Assert.Equal(new[] { 1.0, 2.0 }, runningMean.ToArray<double>());
    }

    // ---- linear ----------------------------------------------------------------------------

    [Fact]
    public void Linear_IsXTimesWTransposedPlusB()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.From<float>([1, 2, 3], [1, 3]);
        var w = Tensor.From<float>([1, 0, 0, 0, 1, 1], [2, 3]);
        var y = Functional.Linear(x, w, Tensor.From(new[] { 10f, 20f }));
        Assert.Equal(new float[] { 11, 25 }, y.ToArray<float>());
        Assert.Equal(new float[] { 1, 5 }, Functional.Linear(x, w).ToArray<float>());
    }

    // ---- resampling ------------------------------------------------------------------------

    [Fact]
    public void Interpolate_Nearest_RepeatsPixels()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.From<float>([1, 2, 3, 4], [1, 1, 2, 2]);
        var y = Functional.Interpolate(x, 4, 4);
        Assert.Equal(new long[] { 1, 1, 4, 4 }, y.Shape);
        Assert.Equal(new float[] { 1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4 }, y.ToArray<float>());
        Assert.Equal(new long[] { 1, 1, 3, 5 }, Functional.Interpolate(x, 3, 5).Shape);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Interpolate_Bilinear_ShapeAndConstantStaysConstant(bool alignCorners)
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.Full([2, 3, 5, 7], 1.75);
        var y = Functional.Interpolate(x, 11, 4, InterpolationMode.Bilinear, alignCorners);
        Assert.Equal(new long[] { 2, 3, 11, 4 }, y.Shape);
        Assert.True(y.AllClose(Tensor.Full([2, 3, 11, 4], 1.75), 0, 1e-6));
    }

    [Fact]
    public void Interpolate_Bilinear_AlignCorners_OfARamp_IsLinear()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.From<float>([0, 3], [1, 1, 1, 2]);
        var y = Functional.Interpolate(x, 1, 4, InterpolationMode.Bilinear, alignCorners: true);
        Assert.True(y.AllClose(Tensor.From<float>([0, 1, 2, 3], [1, 1, 1, 4]), 0, 1e-6));
    }

    [Fact]
    public void Interpolate_RejectsBadArguments()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.Ones([1, 1, 2, 2]);
        Assert.Throws<ArgumentOutOfRangeException>(() => Functional.Interpolate(x, 0, 2));
        var nearestAligned = Assert.Throws<TorchException>(() => Functional.Interpolate(x, 4, 4, InterpolationMode.Nearest, alignCorners: true));
        Assert.Equal(TorchErrorKind.InvalidArgument, nearestAligned.Kind);
        Assert.Throws<TorchException>(() => Functional.Interpolate(Tensor.Ones([2, 2, 2]), 4, 4));
    }

    private static Tensor Theta(int n, double a, double b, double c, double d, double e, double f) =>
        Tensor.Stack(Enumerable.Range(0, n).Select(_ => Tensor.From<float>([(float)a, (float)b, (float)c, (float)d, (float)e, (float)f], [2, 3])).ToList());

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void GridSample_WithTheIdentityAffineGrid_ReproducesTheInput(bool alignCorners)
    {
        using var scope = TensorScope.Begin();
        LibTorch.ManualSeed(51);
        var x = Tensor.Randn([2, 3, 5, 7]);
        var grid = Functional.AffineGrid(Theta(2, 1, 0, 0, 0, 1, 0), [2, 3, 5, 7], alignCorners);
        Assert.Equal(new long[] { 2, 5, 7, 2 }, grid.Shape);
        var y = Functional.GridSample(x, grid, alignCorners: alignCorners);
        Assert.Equal(x.Shape, y.Shape);
        Assert.True(y.AllClose(x, 0, 1e-5));
    }

    [Fact]
    public void GridSample_WithAMirrorAffineGrid_FlipsTheWidth()
    {
        using var scope = TensorScope.Begin();
        LibTorch.ManualSeed(52);
        var x = Tensor.Randn([1, 2, 4, 6]);
        var grid = Functional.AffineGrid(Theta(1, -1, 0, 0, 0, 1, 0), [1, 2, 4, 6]);
        var y = Functional.GridSample(x, grid);
        Assert.True(y.AllClose(x.Flip(3), 0, 1e-5));
        var nearest = Functional.GridSample(x, grid, InterpolationMode.Nearest);
        Assert.True(nearest.AllClose(x.Flip(3), 0, 1e-5));
    }

    [Fact]
    public void GridSample_OutsideTheInput_FollowsThePaddingMode()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.Full([1, 1, 2, 2], 5);
        // Every sample point far to the right of the image.
        var grid = Tensor.Stack([Tensor.Full([2, 2], 3), Tensor.Zeros([2, 2])], -1).Unsqueeze(0);
        Assert.Equal(0.0, Functional.GridSample(x, grid, padding: GridPadding.Zeros).Abs().Sum().ToDouble());
        Assert.True(Functional.GridSample(x, grid, padding: GridPadding.Border).AllClose(Tensor.Full([1, 1, 2, 2], 5)));
        Assert.True(Functional.GridSample(x, grid, padding: GridPadding.Reflection).AllClose(Tensor.Full([1, 1, 2, 2], 5)));
    }

    [Fact]
    public void AffineGrid_SizeMustHaveFourEntries()
    {
        using var scope = TensorScope.Begin();
        var e = Assert.Throws<ArgumentException>(() => Functional.AffineGrid(Theta(1, 1, 0, 0, 0, 1, 0), [1, 2, 3]));
        Assert.Equal("size", e.ParamName);
    }

    // ---- losses ----------------------------------------------------------------------------

    private static (Tensor Logits, Tensor Target) Batch(ulong seed, int n = 6, int classes = 4)
    {
        LibTorch.ManualSeed(seed);
        return (Tensor.Randn([n, classes], ScalarType.Float64) * 2, Tensor.RandInt(0, classes, [n]));
    }

    /// <summary>−log_softmax(logits)[i, target[i]] for each i, computed from binding primitives.</summary>
    private static Tensor NegLogLikelihoods(Tensor logits, Tensor target) =>
        (logits.LogSoftmax(1) * target.OneHot(logits.Size(1)).To(ScalarType.Float64)).Sum([1]).Neg();

    [Fact]
    public void CrossEntropy_EqualsMinusMeanLogSoftmaxAtTheTarget()
    {
        using var scope = TensorScope.Begin();
        var (logits, target) = Batch(61);
        var byHand = NegLogLikelihoods(logits, target);
        var loss = Functional.CrossEntropy(logits, target);
        Assert.Equal(0, loss.Dim);
        Assert.Equal(byHand.Mean().ToDouble(), loss.ToDouble(), 12);
        Assert.Equal(byHand.Sum().ToDouble(), Functional.CrossEntropy(logits, target, reduction: Reduction.Sum).ToDouble(), 12);
        var none = Functional.CrossEntropy(logits, target, reduction: Reduction.None);
        Assert.Equal(new long[] { 6 }, none.Shape);
        Assert.True(none.AllClose(byHand, 1e-12, 1e-12));
    }

    [Fact]
    public void CrossEntropy_WithClassWeights_IsTheWeightedMean()
    {
        using var scope = TensorScope.Begin();
        var (logits, target) = Batch(62);
        var weight = Tensor.From(new[] { 0.5, 2.0, 1.0, 3.0 });
        var w = weight.IndexSelect(0, target);
        var expected = (NegLogLikelihoods(logits, target) * w).Sum().ToDouble() / w.Sum().ToDouble();
        Assert.Equal(expected, Functional.CrossEntropy(logits, target, weight).ToDouble(), 12);
        // Weights change the answer (the test would not notice them being dropped otherwise).
        Assert.NotEqual(Functional.CrossEntropy(logits, target).ToDouble(), expected, 6);
    }

    [Fact]
    public void NllLossOfLogSoftmax_EqualsCrossEntropy_WithAndWithoutWeights()
    {
        using var scope = TensorScope.Begin();
        var (logits, target) = Batch(63);
        var weight = Tensor.From(new[] { 1.0, 0.25, 4.0, 1.5 });
        var logp = logits.LogSoftmax(1);
        Assert.Equal(Functional.CrossEntropy(logits, target).ToDouble(), Functional.NllLoss(logp, target).ToDouble(), 12);
        Assert.Equal(Functional.CrossEntropy(logits, target, weight).ToDouble(), Functional.NllLoss(logp, target, weight).ToDouble(), 12);
        Assert.True(Functional.CrossEntropy(logits, target, reduction: Reduction.None)
            .AllClose(Functional.NllLoss(logp, target, reduction: Reduction.None), 1e-12, 1e-12));
    }

    [Fact]
    public void CrossEntropy_IgnoreIndex_LeavesThoseSamplesOut()
    {
        using var scope = TensorScope.Begin();
        var (logits, _) = Batch(64);
        var target = Tensor.From(new long[] { 0, -100, 2, 3, -100, 1 });
        var kept = Tensor.From(new long[] { 0, 2, 3, 5 });
        var expected = Functional.CrossEntropy(logits.IndexSelect(0, kept), target.IndexSelect(0, kept)).ToDouble();
        Assert.Equal(expected, Functional.CrossEntropy(logits, target).ToDouble(), 12);
        var custom = Tensor.From(new long[] { 0, 3, 2, 3, 3, 1 });
        Assert.Equal(
            Functional.CrossEntropy(logits.IndexSelect(0, Tensor.From(new long[] { 0, 2, 5 })), Tensor.From(new long[] { 0, 2, 1 })).ToDouble(),
            Functional.CrossEntropy(logits, custom, ignoreIndex: 3).ToDouble(), 12);
    }

    [Fact]
    public void CrossEntropy_ProbabilityTargets_MatchIndexTargetsWhenOneHot()
    {
        using var scope = TensorScope.Begin();
        var (logits, target) = Batch(65);
        var probabilities = target.OneHot(4).To(ScalarType.Float64);
        Assert.Equal(Functional.CrossEntropy(logits, target).ToDouble(), Functional.CrossEntropy(logits, probabilities).ToDouble(), 12);
    }

    [Fact]
    public void CrossEntropy_OnSegmentationMaps_EqualsTheFlattenedPixels()
    {
        using var scope = TensorScope.Begin();
        LibTorch.ManualSeed(66);
        var logits = Tensor.Randn([2, 3, 4, 5], ScalarType.Float64);
        var target = Tensor.RandInt(0, 3, [2, 4, 5]);
        var flatLogits = logits.Permute(0, 2, 3, 1).Reshape(-1, 3);
        var flatTarget = target.Reshape(-1);
        Assert.Equal(Functional.CrossEntropy(flatLogits, flatTarget).ToDouble(), Functional.CrossEntropy(logits, target).ToDouble(), 12);
        Assert.Equal(new long[] { 2, 4, 5 }, Functional.CrossEntropy(logits, target, reduction: Reduction.None).Shape);
    }

    [Fact]
    public void CrossEntropy_LabelSmoothing_ValidatedAndApplied()
    {
        using var scope = TensorScope.Begin();
        var (logits, target) = Batch(67);
        Assert.Throws<ArgumentOutOfRangeException>(() => Functional.CrossEntropy(logits, target, labelSmoothing: -0.1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Functional.CrossEntropy(logits, target, labelSmoothing: 1.5));
        // Smoothing ε mixes in the uniform distribution: (1 − ε)·CE + ε·mean(−log_softmax).
        const double eps = 0.2;
        double ce = Functional.CrossEntropy(logits, target).ToDouble();
        double uniform = logits.LogSoftmax(1).Neg().Mean().ToDouble();
        Assert.Equal((1 - eps) * ce + eps * uniform, Functional.CrossEntropy(logits, target, labelSmoothing: eps).ToDouble(), 12);
    }

    [Fact]
    public void CrossEntropy_TargetOutOfRange_Throws()
    {
        using var scope = TensorScope.Begin();
        var (logits, _) = Batch(68);
        Assert.Throws<TorchException>(() => Functional.CrossEntropy(logits, Tensor.From(new long[] { 0, 1, 2, 3, 4, 0 })));
        Assert.Throws<TorchException>(() => Functional.CrossEntropy(logits, Tensor.From(new long[] { 0, 1 })));
    }
}
