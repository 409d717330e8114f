using UNet.Segmentation.Torch.Optim;

namespace UNet.Segmentation.Torch.Tests.Optim;

public class LearningRateScheduleTests
{
    [Fact]
    public void Constant_StepDecay_Exponential_Cosine_FollowTheirFormulas()
    {
        Assert.Equal(1e-4, LearningRateSchedules.Constant(1e-4).At(6399));
        var step = LearningRateSchedules.StepDecay(1.0, stepSize: 10, gamma: 0.5);
        Assert.Equal(1.0, step.At(9));
        Assert.Equal(0.5, step.At(10));
        Assert.Equal(0.25, step.At(25));
        Assert.Equal(0.5, LearningRateSchedules.Exponential(1.0, 100, 0.25).At(50), 12);
        var cosine = LearningRateSchedules.Cosine(1.0, 100, minimum: 0.1);
        Assert.Equal(1.0, cosine.At(0), 12);
        Assert.Equal(0.55, cosine.At(50), 12);
        Assert.Equal(0.1, cosine.At(100), 12);
        Assert.Equal(0.1, cosine.At(1000), 12);
    }

    [Fact]
    public void LinearWarmup_RampsUpThenHandsOver()
    {
        var s = LearningRateSchedules.Constant(1.0).WithLinearWarmup(4);
        Assert.Equal([0.25, 0.5, 0.75, 1.0, 1.0], Enumerable.Range(0, 5).Select(i => s.At(i)).ToArray());
    }

    [Fact]
    public void BadArguments_AreRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => LearningRateSchedules.Constant(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => LearningRateSchedules.StepDecay(1, 0, 0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => LearningRateSchedules.Cosine(1, 10, minimum: 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => LearningRateSchedules.Constant(1).At(-1));
    }
}
