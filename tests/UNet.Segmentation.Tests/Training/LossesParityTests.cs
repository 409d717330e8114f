using TorchSharp;
using TorchSharp.Modules;
using UNet.Segmentation.Tests.Peer;
using UNet.Segmentation.Training;
using static TorchSharp.torch;

namespace UNet.Segmentation.Tests.Training;

/// <summary>Runs tests/peer/losses_peer.py once: PyTorch's losses and gradients, written as the reference states them.</summary>
public sealed class LossesGolden() : PeerGoldenFile("losses_peer.py");

/// <summary>The losses' values and gradients against PyTorch's on the same inputs (1e-5 relative).</summary>
public class LossesParityTests(LossesGolden golden, ITestOutputHelper output) : IClassFixture<LossesGolden>
{
    private const double Tolerance = 1e-5;

    /// <summary>float32's spacing at 1.0 (2^-23): the resolution of 1 − dice in float32, whatever the loss's size.</summary>
    private const double OneUlpOfOne = 1.0 / (1 << 23);

    public static TheoryData<string, string, bool> Cases()
    {
        var data = new TheoryData<string, string, bool>();
        foreach (var name in new[] { "two_classes", "three_classes", "float64_confident" })
            foreach (var loss in new[] { "ce", "dice", "total" })
                foreach (bool indices in new[] { false, true })
                    data.Add(name, loss, indices);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void LossAndLogitGradient_MatchPyTorch(string name, string loss, bool indices)
    {
        PythonPeer.Require();
        using var scope = NewDisposeScope();
        var logits = golden[$"{name}.logits"].clone().requires_grad_();
        var labels = indices ? golden[$"{name}.classes"] : golden[$"{name}.labels"];
        var value = loss switch
        {
            "ce" => Losses.CrossEntropy(logits, labels),
            "dice" => Losses.SoftDice(logits, labels),
            _ => Losses.Compute(LossKind.DiceCrossEntropy, logits, labels),
        };
        Assert.Equal(ScalarType.Float32, value.dtype);
        Assert.Empty(value.shape);
        value.backward();
        string what = $"{name} {loss} ({(indices ? "class indices" : "one-hot")})";
        // The Dice loss is 1 − dice with dice near 1 in float32: a one-ulp difference in dice
        // (summation order) is one ulp of 1.0 in the loss, however small the loss. With confident
        // logits (loss 6e-3) that is 1.01e-5 relative, so such values may also differ by one ulp of 1.
        AssertClose(golden[$"{name}.{loss}"], value, what + " value", loss == "ce" ? 0 : OneUlpOfOne);
        var grad = logits.grad!;
        Assert.Equal(logits.dtype, grad.dtype);
        AssertClose(golden[$"{name}.grad.{loss}"], grad, what + " gradient");
    }

    [Theory]
    [InlineData("two_classes")]
    [InlineData("three_classes")]
    [InlineData("float64_confident")]
    public void DiceCoefficientPerClass_MatchesPyTorch(string name)
    {
        PythonPeer.Require();
        using var scope = NewDisposeScope();
        var coefficient = Losses.DiceCoefficient(golden[$"{name}.logits"], golden[$"{name}.labels"]);
        AssertClose(golden[$"{name}.dice_coef"], coefficient, $"{name} dice coefficient");
        var metrics = Metrics.Compute(golden[$"{name}.logits"], golden[$"{name}.labels"]);
        double expected = golden[$"{name}.dice"].ToDouble();
        output.WriteLine($"{name}: SoftDiceLoss {metrics.SoftDiceLoss:R} vs {expected:R}, CE {metrics.CrossEntropy:R} vs {golden[$"{name}.ce"].ToDouble():R}");
        Assert.True(Math.Abs(metrics.SoftDiceLoss - expected) <= Math.Max(Tolerance * Math.Abs(expected), OneUlpOfOne), "metrics' soft Dice loss differs from PyTorch's");
        double ce = golden[$"{name}.ce"].ToDouble();
        Assert.True(Math.Abs(metrics.CrossEntropy - ce) <= Tolerance * Math.Abs(ce), "metrics' cross-entropy differs from PyTorch's");
    }

    [Fact]
    public void L2_ValueAndParameterGradients_MatchPyTorch()
    {
        PythonPeer.Require();
        using var scope = NewDisposeScope();
        double weightDecay = golden["l2.weight_decay"].ToDouble();
        var parameters = Enumerable.Range(0, 4).Select(i => new Parameter(golden[$"l2.w{i}"].clone())).ToList();
        try
        {
            var l2 = Losses.L2(parameters, weightDecay);
            l2.backward();
            AssertClose(golden["l2.value"], l2, "L2 value");
            for (int i = 0; i < parameters.Count; i++)
                AssertClose(golden[$"l2.grad.w{i}"], parameters[i].grad!, $"L2 gradient of w{i}");
        }
        finally
        {
            foreach (var p in parameters) p.Dispose();
        }
    }

    private void AssertClose(Tensor expected, Tensor actual, string what, double absoluteFloor = 0)
    {
        Assert.Equal(expected.shape, actual.shape);
        using var scope = NewDisposeScope();
        var e = expected.to(ScalarType.Float64);
        double diff = e.sub(actual.detach().to(ScalarType.Float64)).abs().max().ToDouble();
        double scale = e.abs().max().ToDouble();
        output.WriteLine($"{what}: max |diff| {diff:E2}, relative {diff / scale:E2}");
        Assert.True(diff <= Math.Max(Tolerance * scale, absoluteFloor), $"{what}: max |diff| {diff:E3} exceeds {Tolerance:E0} × {scale:E3} (floor {absoluteFloor:E2})");
    }
}
