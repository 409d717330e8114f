using TorchSharp;
using TorchSharp.Modules;
using UNet.Segmentation.Tests.Shared;
using UNet.Segmentation.Training;
using static TorchSharp.torch;

namespace UNet.Segmentation.Tests.Training;

[Collection("LiveTensors")]
public sealed class LossScalerTests : IDisposable
{
    private readonly Parameter _w = Make([1, 2, 3, 4], [2, 2]);
    private readonly Parameter _b = Make([0.5f, -0.5f], [2]);
    private readonly SGD _sgd;

    public LossScalerTests() => _sgd = torch.optim.SGD([_w, _b], 0.1);

    private static Parameter Make(float[] values, long[] shape) => new(tensor(values, shape));

    private IReadOnlyList<Tensor> Parameters => [_w, _b];

    private static void AssertValues(float[] expected, Tensor actual)
    {
        float[] values = Values(actual);
        Assert.Equal(expected.Length, values.Length);
        for (int i = 0; i < values.Length; i++) Assert.Equal(expected[i], values[i], 1e-6f);
    }

    public void Dispose()
    {
        _sgd.Dispose();
        _w.Dispose();
        _b.Dispose();
    }

    /// <summary>Backward of scaler.Scale(Σw² + Σb) on fresh (zeroed) gradients.</summary>
    private void Backward(LossScaler scaler)
    {
        using var scope = NewDisposeScope();
        _sgd.zero_grad();
        var loss = _w.square().sum().add(_b.sum());
        scaler.Scale(loss).backward();
    }

    private static float[] Values(Tensor t)
    {
        using var d = t.detach();
        return d.data<float>().ToArray();
    }

    /// <summary>Sets one element of <paramref name="parameter"/>'s gradient (the gradient tensor itself, in place).</summary>
    private static void SetGradient(Parameter parameter, long index, double value)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var grad = parameter.grad ?? throw new InvalidOperationException("no gradient yet");
        grad.view(-1).select(0, index).fill_(value);
    }

    [Fact]
    public void FiniteStep_UnscalesTheGradients_AndSteps()
    {
        var scaler = new LossScaler(initialScale: 1024);
        Backward(scaler);
        using (var g = _w.grad!) AssertValues([2048f, 4096, 6144, 8192], g);
        Assert.True(scaler.Step(_sgd));
        AssertValues([0.8f, 1.6f, 2.4f, 3.2f], _w);   // w − 0.1·2w
        AssertValues([0.4f, -0.6f], _b);
        Assert.Equal((1024.0, 1, 0L), (scaler.CurrentScale, scaler.GoodSteps, scaler.SkippedSteps));
    }

    [Theory]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NegativeInfinity)]
    [InlineData(double.NaN)]
    public void NonFiniteGradient_SkipsTheStep_AndHalvesTheScale(double bad)
    {
        var scaler = new LossScaler(initialScale: 256, growthInterval: 3);
        Backward(scaler);
        Assert.True(scaler.Step(_sgd));
        Backward(scaler);
        SetGradient(_b, 1, bad);
        float[] w = Values(_w), b = Values(_b);
        Assert.False(scaler.Step(_sgd));
        Assert.Equal(w, Values(_w));
        Assert.Equal(b, Values(_b));
        Assert.Equal((128.0, 0, 1L), (scaler.CurrentScale, scaler.GoodSteps, scaler.SkippedSteps));
    }

    [Fact]
    public void ScaleTooLargeForFloat32_OverflowsInBackward_SkipsTheStep_AndBacksOff()
    {
        // Nothing injected: the scaled loss and its gradients overflow float32 on their own, as
        // float16 gradients do under a too-large scale; the scaler must skip and back off.
        var scaler = new LossScaler(initialScale: 1e38, growthInterval: 5);
        float[] w = Values(_w), b = Values(_b);
        Backward(scaler);
        using (var g = _w.grad!)
        {
            Assert.Contains(Values(g), v => float.IsInfinity(v));
        }
        Assert.False(scaler.Step(_sgd));
        Assert.Equal(w, Values(_w));
        Assert.Equal(b, Values(_b));
        Assert.Equal((5e37, 0, 1L), (scaler.CurrentScale, scaler.GoodSteps, scaler.SkippedSteps));

        // Backing off until the gradients fit again makes the next steps count.
        for (int i = 0; i < 64 && scaler.CurrentScale > 1e30; i++) scaler.Update(false);
        Backward(scaler);
        Assert.True(scaler.Step(_sgd));
        AssertValues([0.8f, 1.6f, 2.4f, 3.2f], _w);
    }

    [Fact]
    public void GrowthIntervalGoodSteps_DoubleTheScale()
    {
        var scaler = new LossScaler(initialScale: 8, growthInterval: 4);
        for (int i = 1; i <= 4; i++)
        {
            Backward(scaler);
            Assert.True(scaler.Step(_sgd));
            Assert.Equal(i < 4 ? 8 : 16, scaler.CurrentScale);
            Assert.Equal(i % 4, scaler.GoodSteps);
        }
        scaler.Update(false);
        scaler.Update(true);
        Assert.Equal((8.0, 1, 1L), (scaler.CurrentScale, scaler.GoodSteps, scaler.SkippedSteps));
    }

    [Fact]
    public void UnscaleAndCheck_ThenStep_DoesNotUnscaleTwice()
    {
        var scaler = new LossScaler(initialScale: 4);
        Backward(scaler);
        Assert.True(scaler.UnscaleAndCheck(Parameters));
        Assert.Throws<InvalidOperationException>(() => scaler.UnscaleAndCheck(Parameters));
        using (var g = _w.grad!) AssertValues([2f, 4, 6, 8], g);
        Assert.True(scaler.Step(_sgd));
        AssertValues([0.8f, 1.6f, 2.4f, 3.2f], _w);
        Assert.True(scaler.UnscaleAndCheck([]));   // no gradients: nothing to check
    }

    [Fact]
    public void DisabledScaler_PassesThrough()
    {
        var scaler = new LossScaler(enabled: false);
        Assert.Equal(1, scaler.CurrentScale);
        Backward(scaler);
        SetGradient(_w, 0, double.PositiveInfinity);
        Assert.True(scaler.UnscaleAndCheck(Parameters));
        scaler.Update(false);
        Assert.Equal(0, scaler.SkippedSteps);
        Backward(scaler);
        Assert.True(scaler.Step(_sgd));
        AssertValues([0.8f, 1.6f, 2.4f, 3.2f], _w);
    }

    [Fact]
    public void Scale_ReturnsAFloat32Product()
    {
        using var scope = NewDisposeScope();
        var scaler = new LossScaler();
        var half = tensor(3.0f).to(ScalarType.Float16);
        var scaled = scaler.Scale(half);
        Assert.Equal(ScalarType.Float32, scaled.dtype);
        Assert.Equal(3 * 65536.0, scaled.ToDouble());
    }

    [Fact]
    public void Step_FreesWhatItMakes()
    {
        var scaler = new LossScaler(initialScale: 64);
        Backward(scaler);
        Assert.True(scaler.Step(_sgd)); // warm-up: whatever is made once per process
        long baseline = LiveTensors.SettledCount();
        for (int i = 0; i < 5; i++)
        {
            Backward(scaler);
            Assert.True(scaler.Step(_sgd));
        }
        Backward(scaler);
        SetGradient(_b, 0, double.NaN);
        Assert.False(scaler.Step(_sgd));
        Assert.Equal(baseline, torch.Tensor.TotalCount);
    }

    [Fact]
    public void State_RoundTrips_AndIsValidated()
    {
        var scaler = new LossScaler(initialScale: 1000, growthInterval: 10);
        scaler.Update(true);
        scaler.Update(true);
        scaler.Update(false);
        scaler.Update(true);
        var state = scaler.State;
        Assert.Equal(new LossScalerState(500, 1, 1), state);
        var restored = new LossScaler(growthInterval: 10);
        restored.Restore(state);
        Assert.Equal(state, restored.State);
        Assert.Equal(500, restored.CurrentScale);
        Assert.Throws<ArgumentOutOfRangeException>(() => restored.Restore(state with { Scale = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => restored.Restore(state with { Scale = double.PositiveInfinity }));
        Assert.Throws<ArgumentOutOfRangeException>(() => restored.Restore(state with { GoodSteps = 10 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => restored.Restore(state with { SkippedSteps = -1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LossScaler(growthFactor: 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LossScaler(backoffFactor: 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LossScaler(growthInterval: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LossScaler(initialScale: -1));
    }
}
