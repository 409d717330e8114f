using TorchSharp;
using UNet.Segmentation.Data;
using UNet.Segmentation.Tests.Shared;
using static TorchSharp.torch;

namespace UNet.Segmentation.Tests.Data;

[Collection("LiveTensors")]
public sealed class PipelineTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pipeline-").FullName;
    private readonly IsbiDataset _data;
    private static readonly DataOptions Small = DataOptions.Reference with { InputSize = 100, OutputSize = 60 };

    public PipelineTests()
    {
        IsbiDatasetTests.WriteFolder(_dir, pages: 6, size: 64);
        _data = IsbiDataset.Load(_dir);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A Random that returns given values from NextDouble, to pin augmentation parameters.</summary>
    private sealed class FixedRandom(params double[] values) : Random
    {
        private int _next;
        public override double NextDouble() => values[_next++ % values.Length];
    }

    private static Tensor Pairs(IsbiDataset data, DataOptions options, int slice)
    {
        int area = data.Height * data.Width;
        return Preprocessing.Prepare(data.TrainImages.Span.Slice(slice * area, area), data.TrainLabels.Span.Slice(slice * area, area), 1, data.Height, data.Width, options);
    }

    [Fact]
    public void ReferencePreprocessing_ResizesPadsAndOneHots()
    {
        using var scope = NewDisposeScope();
        var pairs = Pairs(_data, Small, 0);
        Assert.Equal(new long[] { 1, 2, 100, 100 }, pairs.shape);
        Assert.Equal(ScalarType.Float32, pairs.dtype);
        var image = pairs.narrow(1, 0, 1);
        Assert.InRange(image.min().ToDouble(), -1, 1);
        Assert.InRange(image.max().ToDouble(), -1, 1);
        // The 20-pixel border is zero (mid-grey) in the image and membrane in the label.
        Assert.Equal(0, pairs.narrow(3, 0, 20).abs().sum().ToDouble());
        var (images, labels, classes) = Preprocessing.Finish(pairs, Small);
        Assert.Equal(new long[] { 1, 1, 100, 100 }, images.shape);
        Assert.Equal(new long[] { 1, 2, 60, 60 }, labels.shape);
        Assert.Equal(new long[] { 1, 60, 60 }, classes.shape);
        Assert.Equal(ScalarType.Int64, classes.dtype);
        Assert.True(labels.sum(1).eq(1).all().item<bool>(), "one-hot channels sum to 1");
        Assert.True(labels.narrow(1, 1, 1).squeeze(1).to(ScalarType.Int64).eq(classes).all().item<bool>());
        // Resizing the 0/255 label to 60x60 keeps the membrane share near the file's.
        double share = classes.eq(0).to(ScalarType.Float32).mean().ToDouble();
        Assert.InRange(share, 0.15, 0.35);
    }

    [Fact]
    public void AugmentationWithZeroMagnitude_IsTheIdentity()
    {
        using var scope = NewDisposeScope();
        var pairs = Pairs(_data, Small, 1);
        var same = Augmentation.Apply(pairs, Small with { FlipProbability = 0, CropFraction = 0, BrightnessDelta = 0 }, new Random(3));
        Assert.True(same.allclose(pairs, rtol: 0, atol: 1e-5));
    }

    [Fact]
    public void Flips_MirrorImageAndLabelTogether()
    {
        using var scope = NewDisposeScope();
        var pairs = Pairs(_data, Small, 2);
        // U = 0.9 > 0.5 for both flips; crop and brightness draws of 0 / 0.5 mean no crop, no shift.
        var flipped = Augmentation.Apply(pairs, Small, new FixedRandom(0.9, 0.9, 0, 0, 0, 0, 0.5));
        Assert.True(flipped.allclose(pairs.flip(2, 3), rtol: 0, atol: 1e-5));
    }

    [Fact]
    public void CropAndResize_SamplesTheBoxAtYTimesHMinusOne_AsTensorFlow()
    {
        using var scope = NewDisposeScope();
        // A horizontal ramp: the value is the column index, so the sampled column is visible.
        var ramp = arange(0, 100, ScalarType.Float32).reshape(1, 1, 1, 100).expand(1, 2, 100, 100).contiguous();
        double u = 0.5; // left = 0.3·0.5 = 0.15, right = 1 − 0.15
        var cropped = Augmentation.Apply(ramp, Small with { BrightnessDelta = 0 }, new FixedRandom(0, 0, u, u, 0, 0, 0.5));
        var row = cropped.select(0, 0).select(0, 1).select(0, 0).contiguous().data<float>().ToArray(); // the label channel: not clipped
        for (int j = 0; j < 100; j++)
            Assert.Equal(0.15 * 99 + j * (0.7 * 99) / 99, row[j], 3);
    }

    [Fact]
    public void Brightness_ShiftsOnlyTheImage_AndClips()
    {
        using var scope = NewDisposeScope();
        var pairs = Pairs(_data, Small, 3);
        var brighter = Augmentation.Apply(pairs, Small, new FixedRandom(0, 0, 0, 0, 0, 0, 1.0)); // +0.2
        var expected = pairs.narrow(1, 0, 1).add(0.2).clamp(-1, 1);
        Assert.True(brighter.narrow(1, 0, 1).allclose(expected, rtol: 0, atol: 1e-5));
        Assert.True(brighter.narrow(1, 1, 1).allclose(pairs.narrow(1, 1, 1), rtol: 0, atol: 1e-5));
    }

    [Fact]
    public void RotationAndElastic_KeepShapesAndLabelsBinary()
    {
        using var scope = NewDisposeScope();
        var options = Small with { RotationDegrees = 30, ElasticSigma = 4 };
        var pairs = Pairs(_data, options, 4);
        var warped = Augmentation.Apply(pairs, options, new Random(5));
        Assert.Equal(pairs.shape, warped.shape);
        Assert.False(warped.allclose(pairs, rtol: 0, atol: 1e-3));
        var (_, labels, _) = Preprocessing.Finish(warped, options);
        Assert.Equal(0, labels.ne(0).logical_and(labels.ne(1)).sum().ToInt64());
    }

    [Fact]
    public void TrainingBatches_AreDeterministic_AndResumeExactly()
    {
        using var scope = NewDisposeScope();
        int[] slices = [0, 1, 2, 3, 4];
        var first = new List<Tensor>();
        using (var loader = _data.TrainingBatches(slices, 2, Small, seed: 9, cancellation: TestContext.Current.CancellationToken))
            for (int i = 0; i < 4; i++)
            {
                using var b = loader.Take(TestContext.Current.CancellationToken);
                Assert.Equal(i, b.Index);
                first.Add(b.Images.clone());
            }
        using (var resumed = _data.TrainingBatches(slices, 2, Small, seed: 9, startBatch: 2, cancellation: TestContext.Current.CancellationToken))
        {
            using var b = resumed.Take(TestContext.Current.CancellationToken);
            Assert.Equal(2, b.Index);
            Assert.True(b.Images.allclose(first[2], rtol: 0, atol: 0));
        }
        using (var other = _data.TrainingBatches(slices, 2, Small, seed: 10, cancellation: TestContext.Current.CancellationToken))
        {
            using var b = other.Take(TestContext.Current.CancellationToken);
            Assert.False(b.Images.allclose(first[0], rtol: 0, atol: 0));
        }
    }

    [Fact]
    public void Ranks_SeeDisjointSharesOfEveryEpoch()
    {
        int[] slices = [0, 1, 2, 3, 4, 5];
        using var rank0 = _data.TrainingBatches(slices, 1, Small with { Augment = false }, seed: 1, rank: 0, worldSize: 2, cancellation: TestContext.Current.CancellationToken);
        using var rank1 = _data.TrainingBatches(slices, 1, Small with { Augment = false }, seed: 1, rank: 1, worldSize: 2, cancellation: TestContext.Current.CancellationToken);
        for (int epoch = 0; epoch < 3; epoch++)
        {
            var a = Enumerable.Range(epoch * 3, 3).SelectMany(i => rank0.SlicesOf(i)).ToArray();
            var b = Enumerable.Range(epoch * 3, 3).SelectMany(i => rank1.SlicesOf(i)).ToArray();
            Assert.Empty(a.Intersect(b));
            Assert.Equal(slices, a.Concat(b).Order().ToArray());
        }
        Assert.Equal(3, rank0.SamplesPerEpoch);
    }

    [Fact]
    public void StoppingEarly_LeaksNoTensor_AndCancellationEndsTake()
    {
        long baseline = LiveTensors.SettledCount();
        using (var loader = _data.TrainingBatches([0, 1, 2], 2, Small with { PrefetchBatches = 3 }, cancellation: TestContext.Current.CancellationToken))
        {
            loader.Take(TestContext.Current.CancellationToken).Dispose();
            Thread.Sleep(50); // let the worker fill its queue
        }
        // No GC before this read: a batch left in the queue must have been disposed, not finalized.
        Assert.Equal(baseline, torch.Tensor.TotalCount);

        using var cts = new CancellationTokenSource();
        using var cancelled = _data.TrainingBatches([0, 1], 1, Small, cancellation: cts.Token);
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => cancelled.Take(TestContext.Current.CancellationToken).Dispose());
    }

    [Fact]
    public void EvaluationBatches_CoverTheSlicesInOrder_WithoutAugmentation()
    {
        using var scope = NewDisposeScope();
        var batches = _data.EvaluationBatches([5, 1, 2], 2, Small).ToList();
        Assert.Equal([5, 1, 2], batches.SelectMany(b => b.Slices));
        var expected = Preprocessing.Finish(Pairs(_data, Small, 5), Small);
        Assert.True(batches[0].Images.narrow(0, 0, 1).allclose(expected.Images, rtol: 0, atol: 0));
        foreach (var b in batches) b.Dispose();

        var tiles = _data.EvaluationBatches([0], 8, DataOptions.Reference with { InputMode = InputMode.OverlapTile, InputSize = 100, OutputSize = 60 }).Single();
        Assert.Equal(new long[] { 4, 1, 100, 100 }, tiles.Images.shape); // offsets 0 and 4 per axis
        tiles.Dispose();
    }

    [Fact]
    public void BadArguments_AreRejectedWithTheirNames()
    {
        Assert.Equal("items", Assert.Throws<ArgumentOutOfRangeException>(() => _data.TrainingBatches([0, 9], 2, Small, cancellation: TestContext.Current.CancellationToken)).ParamName);
        Assert.Equal("batchSize", Assert.Throws<ArgumentOutOfRangeException>(() => _data.TrainingBatches([0], 0, Small, cancellation: TestContext.Current.CancellationToken)).ParamName);
        Assert.Equal("rank", Assert.Throws<ArgumentOutOfRangeException>(() => _data.TrainingBatches([0, 1], 1, Small, rank: 2, worldSize: 2, cancellation: TestContext.Current.CancellationToken)).ParamName);
        Assert.Equal("CropFraction", Assert.Throws<OptionsValidationException>(() => _data.TrainingBatches([0], 1, Small with { CropFraction = 0.6 }, cancellation: TestContext.Current.CancellationToken)).ParamName);
    }
}
