namespace UNet.Segmentation.Torch.Tests;

public class PrecisionAndRngTests
{
    [Fact]
    public void CpuAutocast_RunsConvolutionsInBFloat16_AndRestoresOnExit()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.Randn([1, 2, 8, 8]);
        var w = Tensor.Randn([3, 2, 3, 3]);
        Assert.False(Autocast.IsEnabled(DeviceType.Cpu));
        Tensor inside;
        using (Autocast.Enable(DeviceType.Cpu, ScalarType.BFloat16))
        {
            Assert.True(Autocast.IsEnabled(DeviceType.Cpu));
            inside = Functional.Conv2d(x, w);
            using (Autocast.Enable(DeviceType.Cpu, ScalarType.BFloat16)) Assert.True(Autocast.IsEnabled(DeviceType.Cpu));
            Assert.True(Autocast.IsEnabled(DeviceType.Cpu)); // the inner exit restored the outer state
        }
        Assert.False(Autocast.IsEnabled(DeviceType.Cpu));
        Assert.Equal(ScalarType.BFloat16, inside.Dtype);
        Assert.Equal(ScalarType.Float32, Functional.Conv2d(x, w).Dtype);
        // bfloat16 keeps about 3 significant digits.
        var reference = Functional.Conv2d(x, w);
        double error = inside.To(ScalarType.Float32).Sub(reference).Abs().Max().ToDouble();
        Assert.InRange(error, 1e-6, 0.05 * reference.Abs().Max().ToDouble());
    }

    [Fact]
    public void CpuAutocast_RefusesFloat16()
    {
        var ex = Assert.Throws<TorchException>(() => Autocast.Enable(DeviceType.Cpu, ScalarType.Float16));
        Assert.Equal(TorchErrorKind.InvalidArgument, ex.Kind);
        Assert.Contains("bfloat16", ex.Message);
        Assert.False(Autocast.IsEnabled(DeviceType.Cpu));
    }

    [Fact]
    public void RngState_RoundTrips_SoTheSameNumbersComeAgain()
    {
        using var scope = TensorScope.Begin();
        LibTorch.ManualSeed(3);
        Tensor.Rand([5]);
        var state = LibTorch.GetRngState();
        Assert.Equal(ScalarType.UInt8, state.Dtype);
        var first = Tensor.Randn([16]);
        var second = Tensor.Randn([16]);
        Assert.False(first.AllClose(second));
        LibTorch.SetRngState(state);
        Assert.True(Tensor.Randn([16]).AllClose(first, 0, 0));
        Assert.Throws<TorchException>(() => LibTorch.SetRngState(Tensor.Zeros([4])));
    }
}
