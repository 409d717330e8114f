using TorchSharp;
using UNet.Segmentation.Training;
using static TorchSharp.torch;

namespace UNet.Segmentation.Tests.Training;

[Collection("LiveTensors")]
public class MetricsTests
{
    [Fact]
    public void PerfectPrediction_GivesDiceOne_AndNoLoss()
    {
        using var scope = NewDisposeScope();
        manual_seed(10);
        var (classes, oneHot) = LossesTests.RandomLabels(2, 2, 10, 10);
        var m = Metrics.Compute(oneHot.mul(40.0), classes);
        Assert.Equal([1.0, 1.0], m.HardDicePerClass);
        Assert.Equal([1.0, 1.0], m.IoUPerClass);
        Assert.Equal(1.0, m.HardMeanDice);
        Assert.Equal(1.0, m.MeanIoU);
        Assert.Equal(1.0, m.PixelAccuracy);
        Assert.Equal(1.0, m.ReferenceDice, 1e-6);
        Assert.True(m.CrossEntropy < 1e-6 && m.SoftDiceLoss < 1e-6);
        Assert.Equal((2, 200L, 2), (m.Classes, m.Pixels, (int)m.Samples));
    }

    [Fact]
    public void HardMetrics_FollowTheCounts()
    {
        using var scope = NewDisposeScope();
        // Labels 0 0 1 1, prediction 0 1 1 1 (class 2 absent from both).
        var labels = tensor(new long[] { 0, 0, 1, 1 }, [1, 1, 4]);
        var logits = tensor(new float[] { 3, -1, -2, -3, 0, 2, 1, 0, -9, -9, -9, -9 }, [1, 3, 1, 4]);
        var m = Metrics.Compute(logits, labels);
        Assert.Equal(2.0 / 3, m.HardDicePerClass[0], 1e-12);
        Assert.Equal(4.0 / 5, m.HardDicePerClass[1], 1e-12);
        Assert.Equal(1.0, m.HardDicePerClass[2]);
        Assert.Equal((2.0 / 3 + 4.0 / 5 + 1) / 3, m.HardMeanDice, 1e-12);
        Assert.Equal(0.5, m.IoUPerClass[0], 1e-12);
        Assert.Equal(2.0 / 3, m.IoUPerClass[1], 1e-12);
        Assert.Equal(1.0, m.IoUPerClass[2]);
        Assert.Equal(0.75, m.PixelAccuracy, 1e-12);
    }

    [Fact]
    public void SoftMetrics_EqualTheLosses_AndLabelFormsAgree()
    {
        using var scope = NewDisposeScope();
        manual_seed(11);
        var (classes, oneHot) = LossesTests.RandomLabels(3, 2, 12, 9);
        var logits = randn(3, 2, 12, 9).requires_grad_();
        var m = Metrics.Compute(logits, oneHot);
        Assert.Equal(Losses.CrossEntropy(logits, oneHot).ToDouble(), m.CrossEntropy, 1e-6);
        Assert.Equal(Losses.SoftDice(logits, oneHot).ToDouble(), m.SoftDiceLoss, 1e-6);
        Assert.Equal(1 - m.SoftDiceLoss, m.ReferenceDice);
        Assert.Equal(m.CrossEntropy + m.SoftDiceLoss, m.TotalLoss);
        var fromIndices = Metrics.Compute(logits, classes);
        Assert.Equal(m.HardDicePerClass, fromIndices.HardDicePerClass);
        Assert.Equal(m.PixelAccuracy, fromIndices.PixelAccuracy);
        Assert.Equal(m.CrossEntropy, fromIndices.CrossEntropy, 1e-6);
        Assert.Equal(m.SoftDiceLoss, fromIndices.SoftDiceLoss, 1e-6);
    }

    [Theory]
    [InlineData(new[] { 1, 3 })]
    [InlineData(new[] { 2, 2 })]
    [InlineData(new[] { 1, 1, 1, 1 })]
    public void Accumulator_OverSplitBatches_EqualsOneShot(int[] split)
    {
        using var scope = NewDisposeScope();
        manual_seed(12);
        var (_, oneHot) = LossesTests.RandomLabels(4, 3, 10, 11);
        var logits = randn(4, 3, 10, 11).add(oneHot.mul(1.5));
        var whole = Metrics.Compute(logits, oneHot);
        var accumulator = new MetricsAccumulator();
        long start = 0;
        foreach (int n in split)
        {
            var batch = accumulator.Add(logits.narrow(0, start, n), oneHot.narrow(0, start, n));
            Assert.Equal(n, batch.Samples);
            start += n;
        }
        var total = accumulator.Result();
        Assert.Equal((split.Length, 4L, 440L, 3), (accumulator.Batches, accumulator.Samples, accumulator.Pixels, accumulator.Classes));
        Assert.Equal(whole.HardDicePerClass, total.HardDicePerClass);
        Assert.Equal(whole.IoUPerClass, total.IoUPerClass);
        Assert.Equal(whole.PixelAccuracy, total.PixelAccuracy);
        Assert.Equal(whole.HardMeanDice, total.HardMeanDice, 1e-12);
        Assert.Equal(whole.CrossEntropy, total.CrossEntropy, 1e-10);
        Assert.Equal(whole.SoftDiceLoss, total.SoftDiceLoss, 1e-10);
        Assert.Equal(whole.ReferenceDice, total.ReferenceDice, 1e-10);
        Assert.True(whole.HardMeanDice is > 0.3 and < 1);
    }

    [Fact]
    public void Accumulator_GuardsItsState()
    {
        using var scope = NewDisposeScope();
        var accumulator = new MetricsAccumulator();
        Assert.Throws<InvalidOperationException>(() => accumulator.Result());
        accumulator.Add(zeros(1, 2, 4, 4), zeros([1, 4, 4], ScalarType.Int64));
        Assert.Equal("logits", Assert.Throws<ArgumentException>(() => accumulator.Add(zeros(1, 3, 4, 4), zeros([1, 4, 4], ScalarType.Int64))).ParamName);
        Assert.Equal(1, accumulator.Batches);
        accumulator.Reset();
        Assert.Equal((0, 0L, 0), (accumulator.Batches, accumulator.Samples, accumulator.Classes));
        Assert.Throws<InvalidOperationException>(() => accumulator.Result());
    }
}
