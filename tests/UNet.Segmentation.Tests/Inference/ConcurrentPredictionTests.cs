using UNet.Segmentation.Inference;
using UNet.Segmentation.Tests.Shared;
using static UNet.Segmentation.Tests.Inference.InferenceTestSupport;

namespace UNet.Segmentation.Tests.Inference;

/// <summary>One TorchSharp predictor shared by many threads: every call equals the serial one, bit for bit, and no tensor outlives the calls.</summary>
[Collection("LiveTensors")]
public sealed class ConcurrentPredictionTests
{
    private const int Calls = 32;

    /// <summary>Grey 8-bit images of different sizes, one per call.</summary>
    internal static byte[][] Images(out (int H, int W)[] sizes)
    {
        var random = new Random(9);
        sizes = new (int, int)[Calls];
        var images = new byte[Calls][];
        for (int i = 0; i < Calls; i++)
        {
            sizes[i] = (17 + i % 7 * 5, 23 + i % 5 * 6);
            images[i] = new byte[sizes[i].H * sizes[i].W];
            random.NextBytes(images[i]);
        }
        return images;
    }

    /// <summary>Each image predicted once serially and once from 32 concurrent calls.</summary>
    internal static void AssertConcurrentEqualsSerial<T>(SegmentationPredictor<T> predictor) where T : PredictionOptions
    {
        var images = Images(out var sizes);
        var serial = new ImagePrediction[Calls];
        for (int i = 0; i < Calls; i++) serial[i] = predictor.PredictImage(images[i], sizes[i].H, sizes[i].W, 1, pictures: i % 4 == 0);
        var concurrent = new ImagePrediction[Calls];
        using var start = new Barrier(Calls);
        var threads = Enumerable.Range(0, Calls).Select(i => new Thread(() =>
        {
            start.SignalAndWait();
            concurrent[i] = predictor.PredictImage(images[i], sizes[i].H, sizes[i].W, 1, pictures: i % 4 == 0);
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        for (int i = 0; i < Calls; i++)
        {
            Assert.Equal(serial[i].Probabilities, concurrent[i].Probabilities);
            Assert.Equal(serial[i].Mask, concurrent[i].Mask);
            Assert.Equal(serial[i].MaskPng, concurrent[i].MaskPng);
            Assert.Equal(serial[i].OverlayPng, concurrent[i].OverlayPng);
        }
    }

    [Theory]
    [InlineData(InputMode.OverlapTile, false)]
    [InlineData(InputMode.ReferenceResize, true)]
    public void ThirtyTwoConcurrentCalls_EqualTheSerialOnes_WithNoLeakedTensors(InputMode input, bool tta)
    {
        using var model = NewModel();
        model.eval(); // as FromCheckpoint leaves it: calls run side by side, no lock taken
        using var predictor = new Predictor(model, new PredictorOptions { Input = input, FlipTta = tta, BatchSize = 2 });
        LiveTensors.Settle();
        long before = LiveTensors.SettledCount();
        AssertConcurrentEqualsSerial(predictor);
        Assert.Equal(before, LiveTensors.SettledCount());
    }

    [Fact]
    public void AModelInTrainingMode_IsPredictedInEvaluationMode_OneCallAtATime_AndLeftTraining()
    {
        using var model = NewModel(SmallValid with { DropoutRate = 0.5 });
        using var predictor = new Predictor(model, PredictorOptions.Tiled);
        model.train();
        AssertConcurrentEqualsSerial(predictor); // dropout would make the calls differ
        Assert.True(model.training);
        Assert.All(model.modules(), m => Assert.True(m.training));
    }
}
