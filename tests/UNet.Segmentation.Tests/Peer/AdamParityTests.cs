using UNet.Segmentation.Torch.NN;
using UNet.Segmentation.Torch.Optim;
using UNet.Segmentation.Torch.Serialization;
using Xunit.Abstractions;

namespace UNet.Segmentation.Torch.Tests.Peer;

/// <summary>Runs tests/peer/ops_peer.py once: PyTorch's inputs, outputs and gradients for every case.</summary>
public sealed class OpsGolden() : PeerGoldenFile("ops_peer.py");

/// <summary>The binding's forward values and gradients against PyTorch's on the same inputs (float32, 1e-5).</summary>
[Collection("LiveTensors")]
public class OpsParityTests(OpsGolden golden, ITestOutputHelper output) : IClassFixture<OpsGolden>
{
    private const double Tolerance = 1e-5;

    private static readonly Dictionary<string, (Func<Dictionary<string, Tensor>, Tensor> Op, string[] Grads)> Cases = new()
    {
        ["conv2d"] = (a => Functional.Conv2d(a["x"], a["w"], a["b"], stride: 2, padding: 1), ["x", "w", "b"]),
        ["conv2d_dilated_groups"] = (a => Functional.Conv2d(a["x"], a["w"], null, stride: 1, padding: 2, dilation: 2, groups: 2), ["x", "w"]),
        ["conv_transpose2d"] = (a => Functional.ConvTranspose2d(a["x"], a["w"], a["b"], stride: 2, padding: 1, outputPadding: 1), ["x", "w", "b"]),
        ["max_pool2d"] = (a => Functional.MaxPool2d(a["x"], 2, 2), ["x"]),
        ["max_pool2d_padded"] = (a => Functional.MaxPool2d(a["x"], 3, 2, padding: 1, ceilMode: true), ["x"]),
        ["softmax"] = (a => a["x"].Softmax(1), ["x"]),
        ["log_softmax"] = (a => a["x"].LogSoftmax(1), ["x"]),
        ["cross_entropy"] = (a => Functional.CrossEntropy(a["x"], a["t"]), ["x"]),
        ["cross_entropy_weighted"] = (a => Functional.CrossEntropy(a["x"], a["t"], a["w"]), ["x"]),
        ["cross_entropy_smoothed"] = (a => Functional.CrossEntropy(a["x"], a["t"], labelSmoothing: 0.1), ["x"]),
        ["nll_loss"] = (a => Functional.NllLoss(a["x"].LogSoftmax(1), a["t"], reduction: Reduction.Sum), ["x"]),
        ["interpolate_bilinear"] = (a => Functional.Interpolate(a["x"], 9, 11, InterpolationMode.Bilinear), ["x"]),
        ["interpolate_bilinear_aligned"] = (a => Functional.Interpolate(a["x"], 4, 13, InterpolationMode.Bilinear, alignCorners: true), ["x"]),
        ["interpolate_nearest"] = (a => Functional.Interpolate(a["x"], 10, 3), ["x"]),
        ["grid_sample_bilinear_zeros"] = (a => Functional.GridSample(a["x"], a["g"]), ["x", "g"]),
        ["grid_sample_nearest_border"] = (a => Functional.GridSample(a["x"], a["g"], InterpolationMode.Nearest, GridPadding.Border), ["x"]),
        ["grid_sample_bilinear_reflection_aligned"] = (a => Functional.GridSample(a["x"], a["g"], InterpolationMode.Bilinear, GridPadding.Reflection, alignCorners: true), ["x", "g"]),
        ["affine_grid"] = (a => Functional.AffineGrid(a["theta"], [2, 3, 5, 6]), ["theta"]),
    };

    public static TheoryData<string> CaseNames() => new(Cases.Keys);

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void ForwardAndGradients_MatchPyTorch(string name)
    {
        if (!PythonPeer.Require(output)) return;
        using var scope = TensorScope.Begin();
        var (op, grads) = Cases[name];
        string prefix = name + ".";
        var inputs = golden.File!.Tensors
            .Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal) && !kv.Key[prefix.Length..].Contains('.')
                         && kv.Key[prefix.Length..] is not ("up" or "out"))
            .ToDictionary(kv => kv.Key[prefix.Length..], kv => kv.Value.Clone().RequiresGrad_(grads.Contains(kv.Key[prefix.Length..])));
        var result = op(inputs);
        AssertClose(golden[prefix + "out"], result, $"{name} forward");
        result.Mul(golden[prefix + "up"]).Sum().Backward();
        foreach (var g in grads)
            AssertClose(golden[$"{prefix}grad.{g}"], inputs[g].Grad!, $"{name} gradient of {g}");
    }

    [Theory]
    [InlineData("adam")]
    [InlineData("adamw")]
    [InlineData("sgd")]
    public void ThreeOptimizerSteps_MatchTorchOptim(string name)
    {
        if (!PythonPeer.Require(output)) return;
        using var scope = TensorScope.Begin();
        using var p = new Parameter(golden[$"{name}.p0"]);
        using Optimizer optimizer = name switch
        {
            "adam" => new Adam([p], learningRate: 1e-2, epsilon: 1e-7, weightDecay: 5e-4),
            "adamw" => new Adam([p], learningRate: 1e-2, weightDecay: 0.1, decoupledWeightDecay: true),
            _ => new Sgd([p], learningRate: 1e-2, momentum: 0.9, weightDecay: 1e-3, nesterov: true),
        };
        for (int step = 0; step < 3; step++)
        {
            p.Grad = golden[$"{name}.g{step}"].Clone();
            optimizer.Step();
        }
        AssertClose(golden[$"{name}.p3"], p, $"{name} after three steps");
    }

    private void AssertClose(Tensor expected, Tensor actual, string what)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        using var scope = TensorScope.Begin();
        double diff = expected.Sub(actual.Detach()).Abs().Max().ToDouble();
        double scale = Math.Max(1, expected.Abs().Max().ToDouble());
        output.WriteLine($"{what}: max |diff| {diff:E2}");
        Assert.True(diff <= Tolerance * scale, $"{what}: max |diff| {diff:E3} exceeds {Tolerance * scale:E1}");
    }
}
