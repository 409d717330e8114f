using TorchSharp;
using UNet.Segmentation.Tests.Peer;
using UNet.Segmentation.Training;
using static TorchSharp.torch;

namespace UNet.Segmentation.Tests.Training;

/// <summary>Runs tests/peer/nnunet_loss_peer.py once: PyTorch's nnU-Net Dice + cross-entropy with deep supervision.</summary>
public sealed class NnUNetLossGolden() : PeerGoldenFile("nnunet_loss_peer.py");

/// <summary>nnU-Net's loss against PyTorch's on the same inputs (1e-5 relative), and its checks.</summary>
public class NnUNetLossTests(NnUNetLossGolden golden, ITestOutputHelper output) : IClassFixture<NnUNetLossGolden>
{
    private const double Tolerance = 1e-5;

    [Theory]
    [InlineData("three_d")]
    [InlineData("two_d")]
    [InlineData("absent_class")]
    [InlineData("confident")]
    public void DeepSupervisionLossAndGradient_MatchPyTorch(string name)
    {
        PythonPeer.Require();
        using var scope = NewDisposeScope();
        var outputs = golden[$"{name}.outputs"].clone().requires_grad_();
        var labels = golden[$"{name}.labels"];
        var loss = NnUNetLoss.DeepSupervision(outputs, labels);
        Assert.Equal(ScalarType.Float32, loss.dtype);
        Assert.Empty(loss.shape);
        loss.backward();
        AssertClose(golden[$"{name}.ds"], loss, $"{name} deep-supervision loss");
        AssertClose(golden[$"{name}.grad.ds"], outputs.grad!, $"{name} gradient");
        using var single = NnUNetLoss.DiceCrossEntropy(golden[$"{name}.outputs"].select(1, 0), labels);
        AssertClose(golden[$"{name}.single"], single, $"{name} output 0's loss");
    }

    [Fact]
    public void Weights_HalveAndSumToOne()
    {
        var w = NnUNetLoss.DeepSupervisionWeights(4);
        Assert.Equal(1.0, w.Sum(), 12);
        for (int i = 1; i < w.Length; i++) Assert.Equal(0.5, w[i] / w[i - 1], 12);
    }

    [Fact]
    public void IdenticalOutputs_GiveTheSingleOutputsLoss()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        var logits = randn(new long[] { 2, 3, 4, 4, 4 });
        var labels = randint(0, 3, new long[] { 2, 1, 4, 4, 4 });
        double single = NnUNetLoss.DiceCrossEntropy(logits, labels).item<float>();
        double stacked = NnUNetLoss.DeepSupervision(stack([logits, logits, logits], 1), labels).item<float>();
        Assert.Equal(single, stacked, 5);
        // Labels without their channel dimension are the same labels.
        Assert.Equal(single, NnUNetLoss.DiceCrossEntropy(logits, labels.squeeze(1)).item<float>(), 6);
    }

    [Fact]
    public void LabelsOfAnotherShape_AreRefusedNamingBothShapes()
    {
        using var scope = NewDisposeScope();
        var logits = zeros(new long[] { 2, 3, 4, 4, 4 });
        var e = Assert.Throws<ArgumentException>(() => NnUNetLoss.DiceCrossEntropy(logits, zeros(new long[] { 2, 1, 4, 4 }, ScalarType.Int64)));
        Assert.Equal("labels", e.ParamName);
        Assert.Contains("[2, 3, 4, 4, 4]", e.Message);
        Assert.Contains("[2, 1, 4, 4]", e.Message);
        var c = Assert.Throws<ArgumentException>(() => NnUNetLoss.DiceCrossEntropy(logits, full(new long[] { 2, 1, 4, 4, 4 }, 3, ScalarType.Int64)));
        Assert.Contains("classes 3..3", c.Message);
        Assert.Throws<ArgumentException>(() => NnUNetLoss.DiceCrossEntropy(logits, zeros(new long[] { 2, 1, 4, 4, 4 })));
        Assert.Throws<ArgumentException>(() => NnUNetLoss.DeepSupervision(logits, zeros(new long[] { 2, 1, 4, 4, 4 }, ScalarType.Int64)));
    }

    private void AssertClose(Tensor expected, Tensor actual, string what)
    {
        Assert.Equal(expected.shape, actual.shape);
        using var scope = NewDisposeScope();
        var e = expected.to(ScalarType.Float64);
        double diff = e.sub(actual.detach().to(ScalarType.Float64)).abs().max().ToDouble();
        double scale = e.abs().max().ToDouble();
        output.WriteLine($"{what}: max |diff| {diff:E2}, relative {diff / scale:E2}");
        Assert.True(diff <= Tolerance * scale, $"{what}: max |diff| {diff:E3} exceeds {Tolerance:E0} × {scale:E3}");
    }
}
