using TorchSharp;
using UNet.Segmentation.Data;
using UNet.Segmentation.Inference;
using UNet.Segmentation.Training;
using static TorchSharp.torch;
using static UNet.Segmentation.Tests.Inference.InferenceTestSupport;
using F = TorchSharp.torch.nn.functional;

namespace UNet.Segmentation.Tests.Inference;

public class PredictorTests
{
    private static readonly long[][] AllFlips = [[], [3], [2], [2, 3]];

    private static void AssertProbabilities(Tensor p, long n, long h, long w)
    {
        using var scope = NewDisposeScope();
        Assert.Equal(new long[] { n, 2, h, w }, p.shape);
        Assert.Equal(ScalarType.Float32, p.dtype);
        Assert.True(p.min().item<float>() >= 0 && p.max().item<float>() <= 1);
        Assert.True(p.sum([1]).sub(1.0).abs().max().item<float>() < 1e-5);
    }

    [Theory]
    [InlineData(InputMode.ReferenceResize, 1, 1)]
    [InlineData(InputMode.ReferenceResize, 45, 20)]
    [InlineData(InputMode.ReferenceResize, 64, 64)]
    [InlineData(InputMode.OverlapTile, 1, 1)]
    [InlineData(InputMode.OverlapTile, 7, 33)]
    [InlineData(InputMode.OverlapTile, 45, 20)]
    [InlineData(InputMode.OverlapTile, 48, 48)]
    public void AnySize_GivesSoftmaxProbabilitiesAtTheInputResolution(InputMode input, int h, int w)
    {
        using var model = NewModel();
        using var predictor = new Predictor(model, new() { Input = input, BatchSize = 2 });
        using var scope = NewDisposeScope();
        AssertProbabilities(predictor.PredictProbabilities(Images(2, h, w)), 2, h, w);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ATiledPredictionOfAnImageThatFitsInOneTile_EqualsTheUntiledOne(bool gaussian)
    {
        using var model = NewModel();
        using var predictor = new Predictor(model, new() { Input = InputMode.OverlapTile, GaussianBlending = gaussian });
        Assert.Equal((60, 20, 20), (predictor.InputSize, predictor.OutputSize, predictor.Margin));
        using var scope = NewDisposeScope();
        var x = Images(2, 20, 20);
        var tiled = predictor.PredictProbabilities(x);
        model.eval();
        Tensor direct;
        using (inference_mode())
            direct = model.call(MirrorPadManaged(x, 20, 20, 20, 20)).softmax(1);
        Assert.True(MaxAbsDiff(direct, tiled) < 1e-5, $"differs by {MaxAbsDiff(direct, tiled)}");
    }

    [Fact]
    public void ReferenceResize_IsResizeZeroPadSoftmaxResizeBack()
    {
        using var model = NewModel();
        using var predictor = new Predictor(model);
        using var scope = NewDisposeScope();
        var x = Images(5, 37, 51);
        var predicted = predictor.PredictProbabilities(x);
        model.eval();
        Tensor expected;
        using (inference_mode())
        {
            var input = F.pad(F.interpolate(x, [20, 20], mode: InterpolationMode.Bilinear, align_corners: false), [20, 20, 20, 20]);
            expected = F.interpolate(model.call(input).softmax(1), [37, 51], mode: InterpolationMode.Bilinear, align_corners: false);
        }
        Assert.True(MaxAbsDiff(expected, predicted) < 1e-6);
    }

    [Theory]
    [InlineData(InputMode.OverlapTile)]
    [InlineData(InputMode.ReferenceResize)]
    public void FlipTta_OfAFlipSymmetricImage_IsItselfSymmetric_AndIsTheMeanOfTheFourFlippedPredictions(InputMode input)
    {
        using var model = NewModel();
        using var plain = new Predictor(model, new() { Input = input, TileOverlap = 0.3 });
        using var tta = new Predictor(model, plain.Options with { FlipTta = true });
        using var scope = NewDisposeScope();
        // 45×37: the tile grid (starts 0, 14, 25 and 0, 14, 17) is not itself symmetric
        var x = Images(2, 45, 37);
        var symmetric = x.add(x.flip(3)).add(x.flip(2)).add(x.flip(2, 3)).div(4.0);
        var p = tta.PredictProbabilities(symmetric);
        foreach (var dims in AllFlips.Skip(1))
            Assert.True(MaxAbsDiff(p, p.flip(dims)) < 1e-5);

        var averaged = tta.PredictProbabilities(x);
        var manual = AllFlips.Select(d => d.Length == 0 ? plain.PredictProbabilities(x) : plain.PredictProbabilities(x.flip(d)).flip(d)).ToList();
        var mean = stack(manual).mean([0]);
        Assert.True(MaxAbsDiff(mean, averaged) < 1e-5);
        Assert.True(MaxAbsDiff(manual[0], averaged) > 1e-4, "TTA should change an asymmetric image's prediction");
    }

    [Fact]
    public void BatchSizeAndMemoryFormat_DoNotChangeTheResult()
    {
        using var model = NewModel();
        using var scope = NewDisposeScope();
        var x = Images(3, 50, 29);
        Tensor Run(PredictorOptions o)
        {
            using var predictor = new Predictor(model, o);
            return predictor.PredictProbabilities(x);
        }
        var one = Run(PredictorOptions.Tiled with { BatchSize = 1 });
        Assert.True(MaxAbsDiff(one, Run(PredictorOptions.Tiled with { BatchSize = 7 })) < 1e-5);
        Assert.True(MaxAbsDiff(one, Run(PredictorOptions.Tiled with { MemoryFormat = memory_format.channels_last })) < 1e-5);
        Assert.True(MaxAbsDiff(one, Run(PredictorOptions.Tiled with { MemoryFormat = memory_format.contiguous_format })) < 1e-5);
    }

    [Fact]
    public void BFloat16_RunsTheNetworkInBFloat16_CloseToFloat32()
    {
        using var model = NewModel();
        using var scope = NewDisposeScope();
        var x = Images(2, 50, 29);
        using var full = new Predictor(model, PredictorOptions.Tiled);
        using var half = new Predictor(model, PredictorOptions.Tiled with { Precision = Precision.BFloat16 });
        var expected = full.PredictProbabilities(x);
        var actual = half.PredictProbabilities(x);
        AssertProbabilities(actual, 2, 50, 29);
        double diff = MaxAbsDiff(expected, actual);
        // bfloat16 keeps 8 significant bits: probabilities move, but by little, and not by nothing.
        Assert.True(diff > 0 && diff < 0.05, $"bfloat16 probabilities differ from float32 by {diff}");
    }

    [Fact]
    public void Float16_OnTheCpu_IsRefusedNamingThePrecision()
    {
        using var model = NewModel();
        var e = Assert.Throws<ArgumentException>(() => new Predictor(model, new PredictorOptions { Precision = Precision.Float16 }));
        Assert.Equal("Precision", e.ParamName);
        Assert.Contains("CUDA", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SamePaddingModels_TileWithoutMargin()
    {
        using var model = NewModel(SmallSame);
        using var predictor = new Predictor(model, PredictorOptions.Tiled);
        Assert.Equal(0, predictor.Margin);
        using var scope = NewDisposeScope();
        AssertProbabilities(predictor.PredictProbabilities(Images(2, 70, 45)), 2, 70, 45);
        var x = Images(1, 32, 32);
        var tiled = predictor.PredictProbabilities(x);
        model.eval();
        using (inference_mode())
            Assert.True(MaxAbsDiff(model.call(x).softmax(1), tiled) < 1e-5);
    }

    [Fact]
    public void Prediction_RunsInEvaluationMode_AndRestoresTheModelsMode()
    {
        using var model = NewModel(SmallValid with { DropoutRate = 0.5 });
        using var predictor = new Predictor(model, PredictorOptions.Tiled);
        model.train();
        using var scope = NewDisposeScope();
        var x = Images(1, 30, 30);
        var a = predictor.PredictProbabilities(x);
        var b = predictor.PredictProbabilities(x); // dropout would make these differ
        Assert.Equal(0, MaxAbsDiff(a, b));
        Assert.True(model.training);
        Assert.All(model.modules(), m => Assert.True(m.training));
        Assert.False(a.requires_grad);
        Assert.False(is_inference_mode_enabled());
    }

    [Fact]
    public void PredictSlice_IsTheInteriorChannelOfTheScaledSlice()
    {
        using var model = NewModel();
        using var predictor = new Predictor(model, PredictorOptions.Tiled);
        var random = new Random(5);
        var slice = new byte[23 * 31];
        random.NextBytes(slice);
        var interior = predictor.PredictSlice(slice, 23, 31);
        using var scope = NewDisposeScope();
        var expected = predictor.PredictProbabilities(Preprocessing.Images(slice, 1, 23, 31)).select(1, 1).contiguous().data<float>().ToArray();
        Assert.Equal(expected, interior);
        Assert.Throws<ArgumentException>(() => predictor.PredictSlice(slice, 23, 30));
    }

    [Fact]
    public void BadImages_AreRejectedWithTheReason()
    {
        using var model = NewModel();
        using var predictor = new Predictor(model);
        using var scope = NewDisposeScope();
        Assert.Contains("N×C×H×W", Assert.Throws<ArgumentException>(() => predictor.PredictProbabilities(zeros([1, 20, 20]))).Message);
        Assert.Contains("channel", Assert.Throws<ArgumentException>(() => predictor.PredictProbabilities(zeros([1, 2, 20, 20]))).Message);
        Assert.Contains("floating point", Assert.Throws<ArgumentException>(() => predictor.PredictProbabilities(zeros([1, 1, 20, 20], ScalarType.Byte))).Message);
        Assert.Throws<ArgumentException>(() => predictor.PredictProbabilities(zeros([0, 1, 20, 20])));
        Assert.Equal("images", Assert.Throws<ArgumentException>(() => predictor.PredictProbabilities(zeros([1, 20, 20]))).ParamName);
    }

    [Fact]
    public void FromCheckpoint_OwnsItsModel_ButAPassedModelStaysTheCallers()
    {
        string path = Path.Combine(Path.GetTempPath(), $"predictor-{Guid.NewGuid():N}.safetensors");
        try
        {
            using var model = NewModel();
            model.Save(path);
            using var scope = NewDisposeScope();
            var x = Images(1, 33, 33);
            Tensor fromModel;
            using (var borrowed = new Predictor(model, PredictorOptions.Tiled))
                fromModel = borrowed.PredictProbabilities(x);
            Assert.False(model.parameters().First().IsInvalid);

            var loaded = Predictor.FromCheckpoint(path, PredictorOptions.Tiled);
            var loadedWeights = loaded.Model.parameters().ToList();
            Assert.Equal(0, MaxAbsDiff(fromModel, loaded.PredictProbabilities(x)));
            loaded.Dispose();
            Assert.All(loadedWeights, p => Assert.True(p.IsInvalid));
            Assert.Throws<ObjectDisposedException>(() => loaded.PredictProbabilities(x));
            Assert.Throws<FileNotFoundException>(() => Predictor.FromCheckpoint(path + ".missing"));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
