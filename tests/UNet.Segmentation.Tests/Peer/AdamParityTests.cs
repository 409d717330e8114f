using System.Globalization;
using TorchSharp;
using UNet.Segmentation.Serialization;
using UNet.Segmentation.Training;
using static TorchSharp.torch;
using Adam = TorchSharp.Modules.Adam;

namespace UNet.Segmentation.Tests.Peer;

/// <summary>
/// The trainer's optimizer against PyTorch's: TorchSharp's <c>torch.optim.Adam</c>, built as
/// Training/Trainer.cs builds it (the reference's hyper-parameters from <see cref="TrainerOptions"/>,
/// weight decay 0 because the L2 term is in the loss), stepped on the same gradients as
/// <c>torch.optim.Adam</c> in tests/peer/adam_peer.py, with the learning rate halved half-way
/// through the param groups as a schedule does. One parameter's gradients are of the order of ε,
/// so ε counts too. The parameters and Adam's per-parameter state (what checkpoints store) must
/// match.
/// </summary>
[Collection("LiveTensors")]
public class AdamParityTests(ITestOutputHelper output)
{
    private const int Steps = 10;

    [Fact]
    public void AdamSteps_WithTheReferencesHyperParameters_MatchTorchOptimAdam()
    {
        PythonPeer.Require();
        var o = new TrainerOptions();
        string dir = Directory.CreateTempSubdirectory("adam-peer-").FullName;
        try
        {
            string path = Path.Combine(dir, "adam.safetensors");
            string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);
            PythonPeer.Run("adam_peer.py", path, F(o.LearningRate), F(o.Beta1), F(o.Beta2), F(o.Epsilon), Steps.ToString(CultureInfo.InvariantCulture));
            using var golden = Safetensors.Load(path);
            Tensor G(string key) => golden.Tensors.TryGetValue(key, out var t) ? t : throw new KeyNotFoundException($"the peer wrote no '{key}'");

            using var scope = NewDisposeScope();
            var parameters = new[] { nn.Parameter(G("p0.start").clone()), nn.Parameter(G("p1.start").clone()) };
            // Exactly the trainer's construction (Trainer.cs).
            using var adam = optim.Adam(parameters, o.LearningRate, o.Beta1, o.Beta2, o.Epsilon, weight_decay: 0);
            for (int step = 0; step < Steps; step++)
            {
                if (step == Steps / 2)
                    foreach (var group in adam.ParamGroups) group.LearningRate = o.LearningRate / 2;
                for (int i = 0; i < parameters.Length; i++)
                    parameters[i].grad = G($"g{step}.{i}").clone();
                adam.step();
            }

            var states = adam.state_dict().State.Cast<Adam.State>().ToList();
            Assert.Equal(parameters.Length, states.Count);
            for (int i = 0; i < parameters.Length; i++)
            {
                double bound = AssertClose(G($"p{i}.end"), parameters[i], 1e-6, relativeToMax: false, $"parameter {i} after {Steps} steps");
                // Each step moves a parameter by up to lr: the tolerance must be a small share of that.
                double moved = parameters[i].detach().sub(G($"p{i}.start")).abs().max().ToDouble();
                output.WriteLine($"parameter {i} moved by up to {moved:E2}");
                Assert.True(moved > 20 * bound, $"parameter {i} moved only {moved:E2}, the tolerance is {bound:E2}: the comparison would say nothing");
                Assert.Equal(Steps, states[i].step);
                Assert.Equal((double)Steps, G($"state{i}.step").ToDouble());
                AssertClose(G($"state{i}.exp_avg"), states[i].exp_avg, 1e-5, relativeToMax: true, $"exp_avg of parameter {i}");
                AssertClose(G($"state{i}.exp_avg_sq"), states[i].exp_avg_sq, 1e-5, relativeToMax: true, $"exp_avg_sq of parameter {i}");
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>
    /// max |expected − actual| within <paramref name="tolerance"/> × max |expected| (relative) or
    /// × max(1, max |expected|); returns the bound used.
    /// </summary>
    private double AssertClose(Tensor expected, Tensor actual, double tolerance, bool relativeToMax, string what)
    {
        Assert.Equal(expected.shape, actual.shape);
        Assert.Equal(expected.dtype, actual.dtype);
        using var scope = NewDisposeScope();
        double diff = expected.sub(actual.detach()).abs().max().ToDouble();
        double largest = expected.abs().max().ToDouble();
        double bound = tolerance * (relativeToMax ? Math.Max(largest, 1e-30) : Math.Max(1, largest));
        output.WriteLine($"{what}: max |diff| {diff:E2} (bound {bound:E2})");
        Assert.True(diff <= bound, $"{what}: max |diff| {diff:E3} exceeds {bound:E2}");
        return bound;
    }
}
