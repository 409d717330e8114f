using UNet.Segmentation.Inference;
using static TorchSharp.torch;
using static UNet.Segmentation.Tests.Inference.InferenceTestSupport;
using F = TorchSharp.torch.nn.functional;

namespace UNet.Segmentation.Tests.Inference;

public class SlidingWindowTests
{
    [Theory]
    [InlineData(100, 40, 20, new[] { 0, 20, 40, 60 })]
    [InlineData(110, 40, 20, new[] { 0, 20, 40, 60, 70 })]
    [InlineData(40, 40, 20, new[] { 0 })]
    [InlineData(41, 40, 1000, new[] { 0, 1 })]
    [InlineData(512, 388, 194, new[] { 0, 124 })]
    public void TileStarts_StepByTheStride_AndEndFlush(long length, int tile, int stride, int[] expected) =>
        Assert.Equal(expected, SlidingWindow.TileStarts(length, tile, stride));

    [Theory]
    [InlineData(388, 0.5, 194)]
    [InlineData(388, 0.0, 388)]
    [InlineData(20, 0.75, 5)]
    [InlineData(10, 0.95, 1)]
    public void Stride_IsTheNonOverlappingPart(int tile, double overlap, int expected) =>
        Assert.Equal(expected, SlidingWindow.Stride(tile, overlap));

    [Fact]
    public void Stride_RejectsOverlapOutsideZeroToOne()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => SlidingWindow.Stride(10, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => SlidingWindow.Stride(10, -0.1));
        Assert.Throws<ArgumentOutOfRangeException>(() => SlidingWindow.Stride(10, double.NaN));
    }

    [Theory]
    [InlineData(5, 7, 2, 3, 1, 4)]
    [InlineData(3, 4, 9, 11, 13, 6)]   // pads several times the image
    [InlineData(1, 6, 4, 2, 5, 0)]     // a single row is repeated
    [InlineData(2, 1, 3, 3, 3, 3)]
    public void MirrorPad_MirrorsWithoutRepeatingTheEdge_ToAnyDepth(int h, int w, int top, int bottom, int left, int right)
    {
        using var scope = NewDisposeScope();
        var x = Images(2, h, w);
        var padded = SlidingWindow.MirrorPad(ToArrays(x), top, bottom, left, right);
        Assert.Equal(0, MaxAbsDiff(LibtorchMirrorPad(x, top, bottom, left, right), ToTensor(padded)));
        Assert.Equal(0, MaxAbsDiff(MirrorPadManaged(x, top, bottom, left, right), ToTensor(padded)));
    }

    /// <summary>The oracle: libtorch's reflect padding (replicate for a single row or column), applied as often as the depth needs.</summary>
    private static Tensor LibtorchMirrorPad(Tensor x, long top, long bottom, long left, long right)
    {
        foreach (var (dim, before0, after0) in new[] { (3, left, right), (2, top, bottom) })
        {
            long before = before0, after = after0;
            while (before > 0 || after > 0)
            {
                long size = x.shape[dim];
                bool single = size == 1;
                long b = single ? before : Math.Min(before, size - 1), a = single ? after : Math.Min(after, size - 1);
                long[] pads = dim == 3 ? [b, a, 0, 0] : [0, 0, b, a];
                x = F.pad(x, pads, single ? TorchSharp.PaddingModes.Replicate : TorchSharp.PaddingModes.Reflect);
                before -= b;
                after -= a;
            }
        }
        return x;
    }

    [Fact]
    public void GaussianWeights_PeakAtOneInTheCentre_AreFlipSymmetric_AndHaveSigmaOneEighth()
    {
        using var scope = NewDisposeScope();
        var g = tensor(GaussianWeights.Create(33), [1, 1, 33, 33]);
        Assert.Equal(1.0, g.max().item<float>(), 6);
        Assert.Equal(1.0, g.select(2, 16).select(2, 16).item<float>(), 6);
        Assert.Equal(Math.Exp(-16 / (2 * Math.Pow(33 / 8.0, 2))), g.select(2, 16).select(2, 20).item<float>(), 6);
        Assert.True(g.min().item<float>() > 0);
        foreach (long[] dims in new[] { new long[] { 2 }, [3], [2, 3] })
            Assert.Equal(0, MaxAbsDiff(g, g.flip(dims)));
        var even = tensor(GaussianWeights.Create(20), [1, 1, 20, 20]);
        Assert.Equal(0, MaxAbsDiff(even, even.flip(2, 3)));
        Assert.Equal(1.0, even.max().item<float>(), 6);
    }

    /// <summary>A "network" whose output pixel depends only on the input pixel at the same place: tiling must then give exactly the pointwise map.</summary>
    private static Func<Tensor, Tensor> Pointwise(int margin) => batch =>
    {
        long s = batch.shape[2] - 2 * margin;
        var centre = batch.narrow(2, margin, s).narrow(3, margin, s);
        var p = centre.mul(3.0).sigmoid();
        return cat([1.0 - p, p], 1);
    };

    /// <summary>A network with context: the 3×3 mean around each output pixel (needs a margin of at least 1).</summary>
    private static Func<Tensor, Tensor> Mean3x3(int margin) => batch =>
    {
        long s = batch.shape[2] - 2 * margin;
        var centre = batch.narrow(2, margin - 1, s + 2).narrow(3, margin - 1, s + 2);
        return F.avg_pool2d(centre, [3, 3], stride: [1, 1]);
    };

    public static TheoryData<int, int, double, bool> Layouts() => new()
    {
        { 1, 1, 0.5, true }, { 5, 7, 0.5, true }, { 20, 20, 0.5, false }, { 37, 53, 0.0, true },
        { 100, 41, 0.5, true }, { 64, 21, 0.9, false }, { 21, 64, 0.25, true },
    };

    [Theory]
    [MemberData(nameof(Layouts))]
    public void APointwiseNetwork_TiledOverAnySize_GivesThePointwiseMap(int h, int w, double overlap, bool gaussian)
    {
        using var scope = NewDisposeScope();
        var x = Images(2, h, w);
        var network = new TensorNetwork(Pointwise(7), inputSize: 34, outputSize: 20, classes: 2);
        var tiled = ToTensor(SlidingWindow.Predict(ToArrays(x), network, overlap, gaussian, batchSize: 3));
        var calls = network.Calls;
        var p = x.mul(3.0).sigmoid();
        Assert.True(MaxAbsDiff(cat([1.0 - p, p], 1), tiled) < 1e-6);
        Assert.All(calls, shape => Assert.Equal(new long[] { 1, 34, 34 }, shape[1..]));
        Assert.All(calls.SkipLast(1), shape => Assert.Equal(3, shape[0]));
        int stride = SlidingWindow.Stride(20, overlap);
        int tiles = 2 * SlidingWindow.TileStarts(Math.Max(h, 20), 20, stride).Length * SlidingWindow.TileStarts(Math.Max(w, 20), 20, stride).Length;
        Assert.Equal(tiles, calls.Sum(c => c[0]));
    }

    [Theory]
    [InlineData(45, 31, 0.5)]
    [InlineData(20, 20, 0.0)]
    [InlineData(9, 70, 0.3)]
    public void ANetworkWithContext_SeesTheMirroredImageAroundEachTile(int h, int w, double overlap)
    {
        using var scope = NewDisposeScope();
        var x = Images(1, h, w);
        var tiled = ToTensor(SlidingWindow.Predict(ToArrays(x), new TensorNetwork(Mean3x3(4), inputSize: 28, outputSize: 20, classes: 1), overlap));
        var expected = F.avg_pool2d(MirrorPadManaged(x, 1, 1, 1, 1), [3, 3], stride: [1, 1]);
        Assert.True(MaxAbsDiff(expected, tiled) < 1e-6);
    }

    [Fact]
    public void Predict_RejectsOddMarginsAndOtherChannelCounts()
    {
        var x = ToArrays(Images(1, 10, 10));
        var odd = Assert.Throws<ArgumentException>(() => SlidingWindow.Predict(x, new TensorNetwork(b => b, inputSize: 21, outputSize: 20, classes: 1)));
        Assert.Contains("even margin", odd.Message);
        var channels = Assert.Throws<ArgumentException>(() => SlidingWindow.Predict(x, new TensorNetwork(b => b, inputSize: 24, outputSize: 20, classes: 1, channels: 3)));
        Assert.Equal("images", channels.ParamName);
    }

    [Theory]
    [InlineData(3, 4, 3)]
    [InlineData(4, 4, 2)]   // dcb|abcd|cba: one past the end reads c
    [InlineData(-1, 5, 1)]
    [InlineData(9, 5, 1)]   // period 2·(5 − 1) = 8
    [InlineData(-7, 1, 0)]  // a single pixel repeats
    public void MirrorIndex_ReflectsWithoutRepeatingTheEdge(long position, int size, int expected) =>
        Assert.Equal(expected, SlidingWindow.MirrorIndex(position, size));
}
