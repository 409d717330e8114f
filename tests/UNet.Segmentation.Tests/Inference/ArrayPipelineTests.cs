using UNet.Segmentation.Inference;
using static TorchSharp.torch;
using static UNet.Segmentation.Tests.Inference.InferenceTestSupport;
using F = TorchSharp.torch.nn.functional;

namespace UNet.Segmentation.Tests.Inference;

/// <summary>The engine-neutral array pieces the TorchSharp and ONNX predictors share, against libtorch's own operations.</summary>
public class ArrayPipelineTests
{
    [Theory]
    [InlineData(512, 512, 388, 388)]   // the reference's resize down
    [InlineData(388, 388, 512, 512)]   // and back up
    [InlineData(37, 51, 20, 20)]
    [InlineData(5, 3, 17, 9)]
    [InlineData(1, 1, 4, 6)]
    [InlineData(9, 1, 2, 3)]
    public void Bilinear_EqualsLibtorchsHalfPixelInterpolate(int h, int w, int outH, int outW)
    {
        using var scope = NewDisposeScope();
        var x = Images(2, h, w, channels: 2);
        var expected = F.interpolate(x, [outH, outW], mode: InterpolationMode.Bilinear, align_corners: false);
        var resized = Bilinear.Resize(ToArrays(x), outH, outW);
        Assert.Equal((outH, outW), (resized.Height, resized.Width));
        Assert.True(MaxAbsDiff(expected, ToTensor(resized)) < 2e-6);
    }

    [Theory]
    [InlineData(true, false, 3)]
    [InlineData(false, true, 2)]
    [InlineData(true, true, new long[] { 2, 3 })]
    public void Flipped_EqualsLibtorchsFlip(bool horizontal, bool vertical, object dims)
    {
        using var scope = NewDisposeScope();
        var x = Images(2, 5, 7, channels: 3);
        long[] axes = dims is long[] many ? many : [Convert.ToInt64(dims)];
        Assert.Equal(0, MaxAbsDiff(x.flip(axes), ToTensor(ToArrays(x).Flipped(horizontal, vertical))));
    }

    [Fact]
    public void FromGrayBytes_IsThePreprocessingOfTheTensorPath()
    {
        using var scope = NewDisposeScope();
        var bytes = Enumerable.Range(0, 256).Select(v => (byte)v).ToArray();
        var expected = UNet.Segmentation.Data.Preprocessing.Images(bytes, 1, 16, 16);
        Assert.Equal(0, MaxAbsDiff(expected, ToTensor(FloatImages.FromGrayBytes(bytes, 1, 16, 16))));
    }

    [Fact]
    public void FloatImages_RefuseDataThatDoesNotMatchTheShape()
    {
        var e = Assert.Throws<ArgumentException>(() => new FloatImages(new float[11], 1, 1, 3, 4));
        Assert.Contains("1×1×3×4", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new FloatImages([], 0, 1, 1, 1));
        Assert.Throws<ArgumentException>(() => FloatImages.FromGrayBytes(new byte[5], 1, 2, 2));
    }

    [Fact]
    public void ProbabilityMaps_WithTta_AverageTheFourFlips_OfAnyNetwork()
    {
        using var scope = NewDisposeScope();
        var x = Images(1, 23, 31);
        // An asymmetric network: each output pixel mixes its left neighbour in, so flips matter.
        Func<Tensor, Tensor> shifted = b =>
        {
            var centre = b.narrow(2, 1, 20).narrow(3, 1, 20);
            var left = b.narrow(2, 1, 20).narrow(3, 0, 20);
            var p = centre.add(left.mul(0.5)).sigmoid();
            return cat([1.0 - p, p], 1);
        };
        var network = new TensorNetwork(shifted, inputSize: 22, outputSize: 20, classes: 2);
        var options = PredictorOptions.Tiled;
        var plain = ToTensor(ProbabilityMaps.Predict(ToArrays(x), network, options));
        var tta = ToTensor(ProbabilityMaps.Predict(ToArrays(x), network, options with { FlipTta = true }));
        var expected = plain.clone();
        foreach (long[] dims in new[] { new long[] { 3 }, [2], [2, 3] })
            expected.add_(ToTensor(ProbabilityMaps.Predict(ToArrays(x.flip(dims)), network, options)).flip(dims));
        Assert.True(MaxAbsDiff(expected.div(4), tta) < 1e-6);
        Assert.True(MaxAbsDiff(plain, tta) > 1e-3);
    }
}
