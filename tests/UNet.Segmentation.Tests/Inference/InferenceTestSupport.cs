using TorchSharp;
using UNet.Segmentation.Inference;
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

    /// <summary>N×C×H×W float32 values of a tensor as the array pipeline's images.</summary>
    public static FloatImages ToArrays(Tensor x)
    {
        using var scope = NewDisposeScope();
        var shape = x.shape;
        var values = x.to(ScalarType.Float32).cpu().contiguous().data<float>().ToArray();
        return new FloatImages(values, (int)shape[0], (int)shape[1], (int)shape[2], (int)shape[3]);
    }

    /// <summary>The array pipeline's images as a tensor (owned by the current dispose scope).</summary>
    public static Tensor ToTensor(FloatImages x) => tensor(x.Data, [x.Count, x.Channels, x.Height, x.Width]);

    /// <summary>A tile function on tensors as the array pipeline's network, recording each call's batch shape.</summary>
    public sealed class TensorNetwork(Func<Tensor, Tensor> run, int inputSize, int outputSize, int classes, int channels = 1) : ISegmentationNetwork
    {
        public List<long[]> Calls { get; } = [];
        public int InputChannels => channels;
        public int Classes => classes;
        public int InputSize => inputSize;
        public int OutputSize => outputSize;

        public void Probabilities(ReadOnlySpan<float> inputs, int count, Span<float> probabilities)
        {
            using var scope = NewDisposeScope();
            var batch = tensor(inputs.ToArray(), [count, channels, inputSize, inputSize]);
            Calls.Add(batch.shape);
            var p = run(batch).to(ScalarType.Float32).contiguous();
            Assert.Equal(new long[] { count, classes, outputSize, outputSize }, p.shape);
            p.data<float>().CopyTo(probabilities);
        }
    }

    /// <summary>Collects progress reports synchronously (Progress&lt;T&gt; posts them asynchronously).</summary>
    public sealed class Recorder : IProgress<int>
    {
        public List<int> Values { get; } = [];
        public void Report(int value) => Values.Add(value);
    }
}
