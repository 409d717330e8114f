namespace UNet.Segmentation.Torch.Tests;

public class AutogradTests
{
    [Fact]
    public void RequiresGrad_DefaultsOff_CanBeSet_AndPropagatesToResults()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.Ones([2]);
        Assert.False(x.RequiresGrad);
        Assert.True(x.IsLeaf);
        Assert.Same(x, x.RequiresGrad_());
        Assert.True(x.RequiresGrad);
        var y = x * 2;
        Assert.True(y.RequiresGrad);
        Assert.False(y.IsLeaf);
        Assert.False((Tensor.Ones([2]) * 2).RequiresGrad);
        x.RequiresGrad = false;
        Assert.False(x.RequiresGrad);
    }

    [Fact]
    public void RequiresGrad_OnAnIntegerTensor_Throws()
    {
        using var scope = TensorScope.Begin();
        var i = Tensor.From(new long[] { 1 });
        Assert.Throws<TorchException>(() => i.RequiresGrad = true);
    }

    [Fact]
    public void Backward_OfSumOfSquares_GivesTwoX()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.From(new[] { 1.0, -2.0, 3.5 }).RequiresGrad_();
        Assert.Null(x.Grad);
        var loss = (x * x).Sum();
        loss.Backward();
        var g = x.Grad;
        Assert.NotNull(g);
        Assert.Equal(new[] { 2.0, -4.0, 7.0 }, g!.ToArray<double>());
        Assert.False(g.RequiresGrad);
    }

    [Fact]
    public void Backward_ThroughAChainOfOps_MatchesTheAnalyticGradient()
    {
        using var scope = TensorScope.Begin();
        double[] v = [0.3, 1.2, -0.7];
        var x = Tensor.From(v).RequiresGrad_();
        // d/dx sum(exp(x) * sin-free mix): f = sum(exp(2x) / 2 + x^3) → exp(2x) + 3x²
        (x.Mul(2.0).Exp().Div(2.0) + x.Pow(3.0)).Sum().Backward();
        var expected = v.Select(a => Math.Exp(2 * a) + 3 * a * a).ToArray();
        Assert.Equal(expected, x.Grad!.ToArray<double>(), new ToleranceComparer(1e-12));
    }

    [Fact]
    public void Backward_OfANonScalar_UsesTheGivenGradient()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.From(new[] { 1f, 2f, 3f }).RequiresGrad_();
        var y = x * 3;
        y.Backward(Tensor.From(new[] { 1f, 10f, 100f }));
        Assert.Equal(new[] { 3f, 30f, 300f }, x.Grad!.ToArray<float>());
    }

    [Fact]
    public void Backward_OfANonScalarWithoutGradient_Throws()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.Ones([3]).RequiresGrad_();
        var e = Assert.Throws<TorchException>(() => (x * 3).Backward());
        Assert.Contains("scalar", e.Message);
    }

    [Fact]
    public void Backward_OnATensorThatDoesNotRequireGrad_Throws()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.Ones([3]);
        Assert.Throws<TorchException>(() => x.Sum().Backward());
    }

    [Fact]
    public void Gradients_AccumulateOverTwoBackwardCalls()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.From(new[] { 1f, 2f }).RequiresGrad_();
        (x * x).Sum().Backward();
        Assert.Equal(new[] { 2f, 4f }, x.Grad!.ToArray<float>());
        (x * x).Sum().Backward();
        Assert.Equal(new[] { 4f, 8f }, x.Grad!.ToArray<float>());
        (x * 5).Sum().Backward();
        Assert.Equal(new[] { 9f, 13f }, x.Grad!.ToArray<float>());
    }

    [Fact]
    public void Backward_Twice_ThroughTheSameGraph_NeedsRetainGraph()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.From(new[] { 2f }).RequiresGrad_();
        var y = (x * x).Sum();
        y.Backward(retainGraph: true);
        y.Backward();
        Assert.Equal(new[] { 8f }, x.Grad!.ToArray<float>());
        Assert.Throws<TorchException>(() => y.Backward());

        var z = (x * x).Sum();
        z.Backward();
        Assert.Throws<TorchException>(() => z.Backward());
    }

    [Fact]
    public void ZeroGrad_SetToNone_DropsTheGradient()
    {
        using var scope = TensorScope.Begin();
        var a = Tensor.Ones([2]).RequiresGrad_();
        var b = Tensor.Ones([3]).RequiresGrad_();
        var untouched = Tensor.Ones([1]).RequiresGrad_();
        (a.Sum() + b.Sum()).Backward();
        Autograd.ZeroGrad([a, b, untouched]);
        Assert.Null(a.Grad);
        Assert.Null(b.Grad);
        Assert.Null(untouched.Grad);
    }

    [Fact]
    public void ZeroGrad_NotSetToNone_ZeroesInPlace_KeepingShape()
    {
        using var scope = TensorScope.Begin();
        var a = Tensor.Ones([2, 2]).RequiresGrad_();
        a.Mul(3.0).Sum().Backward();
        Autograd.ZeroGrad([a], setToNone: false);
        var g = a.Grad;
        Assert.NotNull(g);
        Assert.Equal(new long[] { 2, 2 }, g!.Shape);
        Assert.Equal(new float[] { 0, 0, 0, 0 }, g.ToArray<float>());
        // Accumulation starts again from zero.
        a.Sum().Backward();
        Assert.Equal(new float[] { 1, 1, 1, 1 }, a.Grad!.ToArray<float>());
    }

    [Fact]
    public void ZeroGrad_OfADisposedTensor_ThrowsObjectDisposed()
    {
        // Autograd.ZeroGrad reads raw handles with DangerousGetHandle, which does not check
        // IsClosed: for a tensor disposed the ordinary way it passes the freed pointer on and the
        // shim dereferences freed memory (the test host crashes). A tensor whose handle was
        // handed over with ReplaceHandle is disposed too, but its dead handle holds null, so the
        // missing check shows up safely: as the shim's "null handle" TorchException.
        using var scope = TensorScope.Begin();
        var a = Tensor.Ones([2]).RequiresGrad_();
        var b = Tensor.Zeros([2]);
        b.ReplaceHandle(a);
        Assert.True(a.IsDisposed);
        Assert.False(b.IsDisposed);
        Assert.Throws<ObjectDisposedException>(() => Autograd.ZeroGrad([a]));
        Autograd.ZeroGrad([b]);
    }

    [Fact]
    public void GradSetter_ReplacesAndDropsTheGradient()
    {
        using var scope = TensorScope.Begin();
        var a = Tensor.Ones([2]).RequiresGrad_();
        a.Grad = Tensor.Full([2], 7);
        Assert.Equal(new[] { 7f, 7f }, a.Grad!.ToArray<float>());
        a.Sum().Backward();
        Assert.Equal(new[] { 8f, 8f }, a.Grad!.ToArray<float>());
        a.Grad = null;
        Assert.Null(a.Grad);
    }

    [Fact]
    public void NoGrad_StopsRecording_AndRestoresTheMode()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.Ones([2]).RequiresGrad_();
        Assert.True(Autograd.IsGradEnabled);
        Tensor y;
        using (Autograd.NoGrad())
        {
            Assert.False(Autograd.IsGradEnabled);
            y = x * 2;
            Assert.False(y.RequiresGrad);
            // In-place updates of a leaf are allowed without recording.
            x.Add_(1.0);
        }
        Assert.True(Autograd.IsGradEnabled);
        Assert.False(y.RequiresGrad);
        Assert.True((x * 2).RequiresGrad);
        Assert.Equal(new[] { 2f, 2f }, x.ToArray<float>());
    }

    [Fact]
    public void InPlaceOnALeafThatRequiresGrad_OutsideNoGrad_Throws()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.Ones([2]).RequiresGrad_();
        Assert.Throws<TorchException>(() => x.Add_(1.0));
    }

    [Fact]
    public void NoGrad_Nested_RestoresEachLevel_EnableGradInsideRecords()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.Ones([2]).RequiresGrad_();
        using (Autograd.NoGrad())
        {
            using (Autograd.NoGrad())
                Assert.False(Autograd.IsGradEnabled);
            Assert.False(Autograd.IsGradEnabled); // the inner scope restores "disabled", not "enabled"

            using (Autograd.EnableGrad())
            {
                Assert.True(Autograd.IsGradEnabled);
                var y = (x * x).Sum();
                Assert.True(y.RequiresGrad);
                y.Backward();
            }
            Assert.False(Autograd.IsGradEnabled);
            Assert.False((x * 2).RequiresGrad);
        }
        Assert.True(Autograd.IsGradEnabled);
        Assert.Equal(new[] { 2f, 2f }, x.Grad!.ToArray<float>());
    }

    [Fact]
    public void GradMode_IsPerThread()
    {
        using (Autograd.NoGrad())
        {
            bool other = false;
            var t = new Thread(() => other = Autograd.IsGradEnabled);
            t.Start();
            t.Join();
            Assert.True(other);
            Assert.False(Autograd.IsGradEnabled);
        }
    }

    [Fact]
    public void InferenceMode_IsOnInsideOnly_AndItsTensorsDoNotRequireGrad()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.Ones([2]).RequiresGrad_();
        Assert.False(Autograd.IsInferenceMode);
        Tensor y;
        using (Autograd.InferenceMode())
        {
            Assert.True(Autograd.IsInferenceMode);
            Assert.False(Autograd.IsGradEnabled);
            y = x * 2;
            Assert.False(y.RequiresGrad);
            using (Autograd.InferenceMode())
                Assert.True(Autograd.IsInferenceMode);
            Assert.True(Autograd.IsInferenceMode);
        }
        Assert.False(Autograd.IsInferenceMode);
        Assert.True(Autograd.IsGradEnabled);
        Assert.Equal(new[] { 2f, 2f }, y.ToArray<float>());
        // An inference tensor cannot be saved for backward later.
        Assert.Throws<TorchException>(() => (y * x).Sum().Backward());
    }

    [Fact]
    public void InferenceMode_DisposedOnAnotherThread_Throws_AndTwiceIsANoOp()
    {
        var mode = Autograd.InferenceMode();
        try
        {
            Exception? seen = null;
            var t = new Thread(() =>
            {
                try { mode.Dispose(); }
                catch (Exception e) { seen = e; }
            });
            t.Start();
            t.Join();
            Assert.IsType<InvalidOperationException>(seen);
            Assert.True(Autograd.IsInferenceMode);
        }
        finally
        {
            mode.Dispose();
        }
        Assert.False(Autograd.IsInferenceMode);
        mode.Dispose();
        Assert.False(Autograd.IsInferenceMode);
    }

    [Fact]
    public void Conv2d_GradientsFlowToWeightBiasAndInput()
    {
        using var scope = TensorScope.Begin();
        LibTorch.ManualSeed(5);
        var input = Tensor.Randn([2, 3, 6, 6]).RequiresGrad_();
        var weight = Tensor.Randn([4, 3, 3, 3]).RequiresGrad_();
        var bias = Tensor.Zeros([4]).RequiresGrad_();
        var output = Functional.Conv2d(input, weight, bias, padding: 1);
        Assert.Equal(new long[] { 2, 4, 6, 6 }, output.Shape);
        output.Sum().Backward();
        Assert.Equal(weight.Shape, weight.Grad!.Shape);
        Assert.Equal(input.Shape, input.Grad!.Shape);
        // d sum / d bias[o] = number of output positions per channel = N·H·W.
        Assert.Equal(new float[] { 72, 72, 72, 72 }, bias.Grad!.ToArray<float>());
        // d sum / d weight[o, c, 1, 1] (centre tap) = sum of input channel c over N, H, W.
        var centre = weight.Grad!.Select(2, 1).Select(2, 1);
        var inputSums = input.Detach().Sum([0, 2, 3]);
        for (int o = 0; o < 4; o++)
            Assert.True(centre.Select(0, o).AllClose(inputSums, 1e-4, 1e-4));
    }

    [Fact]
    public void CrossEntropy_GradientIsSoftmaxMinusOneHotOverN()
    {
        using var scope = TensorScope.Begin();
        LibTorch.ManualSeed(6);
        var logits = Tensor.Randn([4, 3], ScalarType.Float64).RequiresGrad_();
        var target = Tensor.From(new long[] { 0, 2, 1, 2 });
        Functional.CrossEntropy(logits, target).Backward();
        var expected = (logits.Detach().Softmax(1) - target.OneHot(3).To(ScalarType.Float64)) / 4;
        Assert.True(logits.Grad!.AllClose(expected, 1e-10, 1e-12));
    }
}
