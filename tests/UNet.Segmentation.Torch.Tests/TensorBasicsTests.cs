using UNet.Segmentation.Torch;

namespace UNet.Segmentation.Torch.Tests;

public class TensorBasicsTests
{
    [Fact]
    public void FromArray_RoundTripsValuesShapeAndDtype()
    {
        using var scope = TensorScope.Begin();
        float[] data = [1, 2, 3, 4, 5, 6];
        var t = Tensor.From<float>(data, [2, 3]);
        Assert.Equal(new long[] { 2, 3 }, t.Shape);
        Assert.Equal(ScalarType.Float32, t.Dtype);
        Assert.Equal(Device.Cpu, t.Device);
        Assert.Equal(data, t.ToArray<float>());
        Assert.Equal(21.0, t.Sum().ToDouble());
    }
}
