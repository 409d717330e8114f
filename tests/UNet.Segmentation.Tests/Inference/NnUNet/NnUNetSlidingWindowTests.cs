using TorchSharp;
using UNet.Segmentation.Inference;
using UNet.Segmentation.Inference.NnUNet;
using UNet.Segmentation.Model.NnUNet;
using UNet.Segmentation.Tests.Model;
using UNet.Segmentation.Tests.Shared;
using static TorchSharp.torch;

namespace UNet.Segmentation.Tests.Inference.NnUNet;

/// <summary><see cref="NnUNetSlidingWindow"/>: one window = the direct forward, TTA, bf16, leaks, bad input.</summary>
[Collection("LiveTensors")]
public class NnUNetSlidingWindowTests
{
    private static NnUNetModel NewModel(NnUNetOptions options, int seed)
    {
        random.manual_seed(seed);
        return new NnUNetModel(options with { DeepSupervision = false });
    }

    public static TheoryData<int[]> CoveredShapes3D => new() { new[] { 8, 16, 16 }, new[] { 5, 16, 11 } };

    [Theory]
    [MemberData(nameof(CoveredShapes3D))]
    public void OneWindow3D_EqualsTheDirectForwardOfThePaddedVolume(int[] shape)
    {
        using var model = NewModel(NnUNetModelTests.Small3D, 1);
        using var scope = NewDisposeScope();
        random.manual_seed(2);
        var image = randn(2, shape[0], shape[1], shape[2]);
        using var predictor = new NnUNetSlidingWindow(model, new NnUNetPredictionOptions { TestTimeAugmentation = false });
        var logits = predictor.PredictLogits(image);
        // The patch is 8×16×16: pad by ⌊d/2⌋ before, forward, cut out.
        int[] patch = [8, 16, 16];
        var before = shape.Select((s, d) => (patch[d] - s) / 2).ToArray();
        var padded = nn.functional.pad(image, [before[2], patch[2] - shape[2] - before[2], before[1], patch[1] - shape[1] - before[1], before[0], patch[0] - shape[0] - before[0]]);
        Tensor direct;
        using (no_grad()) direct = model.forward(padded.unsqueeze(0))[0];
        direct = direct.narrow(1, before[0], shape[0]).narrow(2, before[1], shape[1]).narrow(3, before[2], shape[2]);
        Assert.Equal(new long[] { 3, shape[0], shape[1], shape[2] }, logits.shape);
        Assert.True((logits - direct).abs().max().item<float>() <= 1e-5f);
    }

    [Fact]
    public void OneWindow2D_EqualsTheDirectForward()
    {
        using var model = NewModel(NnUNetModelTests.Small2D, 3);
        using var scope = NewDisposeScope();
        var image = randn(1, 32, 24);
        using var predictor = new NnUNetSlidingWindow(model);
        var logits = predictor.PredictLogits(image);
        Tensor direct;
        using (no_grad()) direct = model.forward(image.unsqueeze(0))[0];
        Assert.True((logits - direct).abs().max().item<float>() <= 1e-5f);
    }

    [Fact]
    public void ManyWindows_GiveProbabilitiesOverTheWholeVolume()
    {
        using var model = NewModel(NnUNetModelTests.Small3D, 4);
        using var scope = NewDisposeScope();
        var image = randn(2, 13, 40, 29);
        using var predictor = new NnUNetSlidingWindow(model, new NnUNetPredictionOptions { Overlap = 0.5, BatchSize = 3 });
        var p = predictor.PredictProbabilities(image);
        Assert.Equal(new long[] { 3, 13, 40, 29 }, p.shape);
        Assert.True((p.sum(new long[] { 0 }) - 1).abs().max().item<float>() < 1e-5f);
        Assert.True(p.isfinite().all().item<bool>());
    }

    [Theory]
    [InlineData(0.25, true)]
    [InlineData(0.5, false)]
    [InlineData(0.0, true)]
    public void ManyWindows_OfAPointwiseNetwork_EqualTheDirectForward(double overlap, bool gaussian)
    {
        // A 1×1×1 convolution sees no neighbour: every window gives every voxel its direct value,
        // so any blending must give it back, whatever the windows' placement and the padding.
        using var scope = NewDisposeScope();
        random.manual_seed(10);
        var conv = nn.Conv3d(2, 3, 1);
        var image = randn(2, 5, 37, 21);
        using var predictor = new NnUNetSlidingWindow(conv, [8, 16, 16], 2, 3, new NnUNetPredictionOptions { Overlap = overlap, Gaussian = gaussian, BatchSize = 2 });
        var logits = predictor.PredictLogits(image);
        Tensor direct;
        using (no_grad()) direct = conv.forward(image.unsqueeze(0))[0];
        Assert.True((logits - direct).abs().max().item<float>() <= 1e-5f);
    }

    [Fact]
    public void Tta_OfAFlipEquivariantNetwork_EqualsNoTta()
    {
        // A 3×3×3 convolution whose kernel is symmetric under each axis flip (the mean of its 8 mirrors), zero padding: mirror-equivariant.
        using var scope = NewDisposeScope();
        random.manual_seed(5);
        var conv = nn.Conv3d(2, 3, 3, padding: 1);
        using (no_grad())
        {
            var w = conv.weight!;
            var sym = (w + w.flip(2) + w.flip(3) + w.flip(4) + w.flip(2, 3) + w.flip(2, 4) + w.flip(3, 4) + w.flip(2, 3, 4)) / 8;
            w.copy_(sym);
        }
        var image = randn(2, 11, 20, 18);
        using var plain = new NnUNetSlidingWindow(conv, [8, 8, 8], 2, 3, new NnUNetPredictionOptions { Overlap = 0.5 });
        using var tta = new NnUNetSlidingWindow(conv, [8, 8, 8], 2, 3, new NnUNetPredictionOptions { Overlap = 0.5, TestTimeAugmentation = true });
        Assert.Equal(8, tta.PassesPerWindow);
        var a = plain.PredictProbabilities(image);
        var b = tta.PredictProbabilities(image);
        Assert.True((a - b).abs().max().item<float>() < 1e-5f);
        // And a network that is not equivariant does change under TTA (the test can fail).
        using (no_grad()) conv.weight!.copy_(randn(new long[] { 3, 2, 3, 3, 3 }));
        var c = plain.PredictProbabilities(image);
        var d = tta.PredictProbabilities(image);
        Assert.True((c - d).abs().max().item<float>() > 1e-3f);
    }

    [Fact]
    public void BFloat16_RunsOnTheCpuAndStaysCloseToFloat32()
    {
        using var model = NewModel(NnUNetModelTests.Small3D, 6);
        using var scope = NewDisposeScope();
        var image = randn(2, 8, 20, 16);
        using var f32 = new NnUNetSlidingWindow(model);
        using var bf16 = new NnUNetSlidingWindow(model, new NnUNetPredictionOptions { Precision = ScalarType.BFloat16 });
        var a = f32.PredictProbabilities(image);
        var b = bf16.PredictProbabilities(image);
        Assert.Equal(ScalarType.Float32, b.dtype);
        Assert.Equal(ScalarType.Float32, model.parameters().First().dtype);
        float diff = (a - b).abs().max().item<float>();
        Assert.True(diff < 0.1f, $"bf16 differs from float32 by {diff}");
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void Prediction_LeavesNoTensorBehind(bool tta, bool bf16)
    {
        using var model = NewModel(NnUNetModelTests.Small3D, 7);
        random.manual_seed(8);
        using var image = randn(2, 9, 20, 17);
        using var predictor = new NnUNetSlidingWindow(model, new NnUNetPredictionOptions { TestTimeAugmentation = tta, Precision = bf16 ? ScalarType.BFloat16 : ScalarType.Float32 });
        predictor.PredictProbabilities(image).Dispose();
        long before = LiveTensors.SettledCount();
        for (int i = 0; i < 2; i++)
            predictor.PredictProbabilities(image).Dispose();
        Assert.Equal(before, LiveTensors.SettledCount());
    }

    [Fact]
    public void BadInput_IsRefusedNamingTheImage()
    {
        using var model = NewModel(NnUNetModelTests.Small3D, 9);
        using var predictor = new NnUNetSlidingWindow(model);
        using var wrongChannels = zeros(3, 8, 16, 16);
        using var wrongRank = zeros(2, 16, 16);
        Assert.Equal("image", Assert.Throws<ArgumentException>(() => predictor.PredictLogits(wrongChannels)).ParamName);
        Assert.Equal("image", Assert.Throws<ArgumentException>(() => predictor.PredictLogits(wrongRank)).ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => new NnUNetSlidingWindow(model, new NnUNetPredictionOptions { Overlap = 1 }));
    }
}
