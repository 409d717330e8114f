using TorchSharp;
using UNet.Segmentation.Model;
using static TorchSharp.torch;

namespace UNet.Segmentation.Tests.Inference;

/// <summary>Small models and helpers shared by the inference tests.</summary>
internal static class InferenceTestSupport
{
    /// <summary>Valid padding, depth 2, 4 filters: 60 → 20 (margin 20), fast on CPU.</summary>
    public static UNetOptions SmallValid { get; } = UNetOptions.Reference with { BaseFilters = 4, Depth = 2, InputSize = 60 };

    /// <summary>'Same' padding, depth 2, batch norm: 32 → 32 (margin 0).</summary>
    public static UNetOptions SmallSame { get; } = UNetOptions.Reference with { BaseFilters = 4, Depth = 2, Padding = ConvPadding.Same, BatchNorm = true, InputSize = 32 };

    /// <summary>A freshly initialised model from a fixed seed, with non-zero biases so that outputs vary.</summary>
    public static UNetModel NewModel(UNetOptions? options = null, long seed = 7)
    {
        manual_seed(seed);
        var model = new UNetModel((options ?? SmallValid) with { Initialization = WeightInit.PyTorchDefault });
        return model;
    }

    /// <summary>Uniform values in [−1, 1), N×C×H×W, owned by the current dispose scope.</summary>
    public static Tensor Images(int n, int h, int w, long seed = 3, int channels = 1)
    {
        manual_seed(seed);
        using var scope = NewDisposeScope();
        return rand([n, channels, h, w]).mul(2.0).sub(1.0).MoveToOuterDisposeScope();
    }

    /// <summary>The index that mirroring without repeating the edge (period 2(n − 1)) reads for position <paramref name="i"/> of an axis of n.</summary>
    public static int Mirror(int i, int n)
    {
        if (n == 1) return 0;
        int period = 2 * (n - 1);
        int k = ((i % period) + period) % period;
        return k < n ? k : period - k;
    }

    /// <summary>An N×C×H×W tensor mirror-padded by managed index arithmetic (independent of the code under test).</summary>
    public static Tensor MirrorPadManaged(Tensor x, int top, int bottom, int left, int right)
    {
        using var scope = NewDisposeScope();
        var shape = x.shape;
        int planes = (int)(shape[0] * shape[1]), h = (int)shape[2], w = (int)shape[3];
        var src = x.to(ScalarType.Float32).cpu().contiguous().data<float>().ToArray();
        int ph = h + top + bottom, pw = w + left + right;
        var dst = new float[planes * ph * pw];
        for (int p = 0; p < planes; p++)
            for (int y = 0; y < ph; y++)
                for (int xx = 0; xx < pw; xx++)
                    dst[(p * ph + y) * pw + xx] = src[(p * h + Mirror(y - top, h)) * w + Mirror(xx - left, w)];
        return tensor(dst, [shape[0], shape[1], ph, pw], device: x.device).MoveToOuterDisposeScope();
    }

    public static double MaxAbsDiff(Tensor a, Tensor b)
    {
        using var scope = NewDisposeScope();
        Assert.Equal(a.shape, b.shape);
        return a.to(ScalarType.Float64).sub(b.to(ScalarType.Float64)).abs().max().item<double>();
    }

    /// <summary>Collects progress reports synchronously (Progress&lt;T&gt; posts them asynchronously).</summary>
    public sealed class Recorder : IProgress<int>
    {
        public List<int> Values { get; } = [];
        public void Report(int value) => Values.Add(value);
    }
}
