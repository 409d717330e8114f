using UNet.Segmentation.Torch.NN;
using UNet.Segmentation.Torch.Optim;

namespace UNet.Segmentation.Torch.Tests.Optim;

[Collection("LiveTensors")]
public class OptimizerTests
{
    private static Parameter Param(params float[] values) => new(Tensor.From<float>(values, [values.Length]));

    /// <summary>torch.optim.Adam's single-tensor update, written out in doubles.</summary>
    private static double[] AdamReference(double[] p, double[][] grads, double lr, double b1, double b2, double eps, double wd, bool decoupled)
    {
        var w = (double[])p.Clone();
        var m = new double[w.Length];
        var v = new double[w.Length];
        for (int t = 1; t <= grads.Length; t++)
            for (int i = 0; i < w.Length; i++)
            {
                double g = grads[t - 1][i];
                if (wd != 0) { if (decoupled) w[i] *= 1 - lr * wd; else g += wd * w[i]; }
                m[i] = b1 * m[i] + (1 - b1) * g;
                v[i] = b2 * v[i] + (1 - b2) * g * g;
                double denom = Math.Sqrt(v[i]) / Math.Sqrt(1 - Math.Pow(b2, t)) + eps;
                w[i] -= lr / (1 - Math.Pow(b1, t)) * m[i] / denom;
            }
        return w;
    }

    [Theory]
    [InlineData(0.0, false)]
    [InlineData(0.1, false)]
    [InlineData(0.1, true)]
    public void Adam_MatchesTheAlgorithm_OverThreeSteps(double weightDecay, bool decoupled)
    {
        using var scope = TensorScope.Begin();
        using var p = Param(1f, -2f, 0.5f);
        using var adam = new Adam([p], learningRate: 0.1, weightDecay: weightDecay, decoupledWeightDecay: decoupled);
        double[][] grads = [[0.5, -1, 2], [0.25, 0.5, -1], [1, 1, 1]];
        foreach (var g in grads)
        {
            p.Grad = Tensor.From(g.Select(x => (float)x).ToArray());
            adam.Step();
        }
        var expected = AdamReference([1, -2, 0.5], grads, 0.1, 0.9, 0.999, 1e-8, weightDecay, decoupled);
        var actual = p.ToArray<float>();
        for (int i = 0; i < 3; i++) Assert.Equal(expected[i], actual[i], 5);
    }

    [Fact]
    public void Sgd_WithMomentumAndNesterov_MatchesTheAlgorithm()
    {
        using var scope = TensorScope.Begin();
        using var p = Param(1f);
        using var sgd = new Sgd([p], learningRate: 0.1, momentum: 0.9, weightDecay: 0.01, nesterov: true);
        double w = 1, buf = 0;
        double[] grads = [1, -0.5, 2];
        for (int t = 0; t < grads.Length; t++)
        {
            p.Grad = Tensor.From([(float)grads[t]]);
            sgd.Step();
            double d = grads[t] + 0.01 * w;
            buf = t == 0 ? d : 0.9 * buf + d;
            w -= 0.1 * (d + 0.9 * buf);
        }
        Assert.Equal(w, p.ToDouble(), 5);
    }

    [Fact]
    public void ParametersWithoutGradient_AreSkipped_AndTheirStepDoesNotAdvance()
    {
        using var scope = TensorScope.Begin();
        using var a = Param(1f);
        using var b = Param(1f);
        using var adam = new Adam([a, b], learningRate: 0.1);
        a.Grad = Tensor.From([1f]);
        adam.Step();
        Assert.NotEqual(1f, a.ToSingle());
        Assert.Equal(1f, b.ToSingle());
        var state = adam.StateDict();
        Assert.Equal(1, state["state.0.step"].ToInt64());
        Assert.Equal(0, state["state.1.step"].ToInt64());
    }

    [Fact]
    public void StateDict_RestoresAdamExactly_SoResumedStepsMatch()
    {
        using var scope = TensorScope.Begin();
        using var p1 = Param(1f, 2f);
        using var p2 = Param(1f, 2f);
        using var first = new Adam([p1], learningRate: 0.05);
        using var second = new Adam([p2], learningRate: 0.05);
        p1.Grad = Tensor.From([0.3f, -0.7f]);
        first.Step();
        first.Step();
        second.LoadStateDict(first.StateDict());
        using (Autograd.NoGrad()) p2.CopyFrom_(p1);
        p1.Grad = Tensor.From([0.1f, 0.2f]);
        p2.Grad = Tensor.From([0.1f, 0.2f]);
        first.Step();
        second.Step();
        Assert.Equal(p1.ToArray<float>(), p2.ToArray<float>());
    }

    [Fact]
    public void LoadStateDict_RejectsWrongStateWithEveryProblem()
    {
        using var scope = TensorScope.Begin();
        using var p = Param(1f, 2f);
        using var adam = new Adam([p]);
        var state = new Dictionary<string, Tensor>(adam.StateDict());
        state.Remove("state.0.exp_avg_sq");
        state["state.0.exp_avg"] = Tensor.Zeros([3]);
        state["state.1.exp_avg"] = Tensor.Zeros([2]);
        var ex = Assert.Throws<StateDictMismatchException>(() => adam.LoadStateDict(state));
        Assert.Equal(["state.0.exp_avg_sq"], ex.Missing);
        Assert.Equal(["state.1.exp_avg"], ex.Unexpected);
        Assert.Contains("state.0.exp_avg", ex.Mismatched.Single());
    }

    [Fact]
    public void ConstructorArguments_AreValidated()
    {
        using var scope = TensorScope.Begin();
        using var p = Param(1f);
        Assert.Throws<ArgumentException>(() => new Adam([]));
        Assert.Throws<ArgumentException>(() => new Adam([p, p]));
        Assert.Equal("beta1", Assert.Throws<ArgumentOutOfRangeException>(() => new Adam([p], beta1: 1.0)).ParamName);
        Assert.Equal("value", Assert.Throws<ArgumentOutOfRangeException>(() => new Adam([p], learningRate: double.NaN)).ParamName);
        Assert.Equal("nesterov", Assert.Throws<ArgumentException>(() => new Sgd([p], 0.1, nesterov: true)).ParamName);
    }

    [Fact]
    public void Step_AfterAParameterWasDisposed_ThrowsInsteadOfCrashing()
    {
        var p = Param(1f);
        using var adam = new Adam([p]);
        p.Dispose();
        Assert.Throws<ObjectDisposedException>(() => adam.Step());
    }
}
