namespace UNet.Segmentation.Torch.Tests;

public class TensorMathTests
{
    private static Tensor F(params float[] v) => Tensor.From(v);

    // ---- arithmetic -----------------------------------------------------------------------

    [Fact]
    public void TensorArithmetic_Elementwise()
    {
        using var scope = TensorScope.Begin();
        var a = F(1, 2, 3, 4);
        var b = F(4, 3, 2, 1);
        Assert.Equal(new float[] { 5, 5, 5, 5 }, a.Add(b).ToArray<float>());
        Assert.Equal(new float[] { -3, -1, 1, 3 }, a.Sub(b).ToArray<float>());
        Assert.Equal(new float[] { 4, 6, 6, 4 }, a.Mul(b).ToArray<float>());
        Assert.Equal(new float[] { 0.25f, 2f / 3f, 1.5f, 4 }, a.Div(b).ToArray<float>());
        Assert.Equal(new float[] { 1, 8, 9, 4 }, a.Pow(b).ToArray<float>());
        Assert.Equal(new float[] { 4, 3, 3, 4 }, a.Maximum(b).ToArray<float>());
        Assert.Equal(new float[] { 1, 2, 2, 1 }, a.Minimum(b).ToArray<float>());
    }

    [Fact]
    public void AddAndSub_WithAlpha_ScaleTheOtherOperand()
    {
        using var scope = TensorScope.Begin();
        var a = F(1, 2);
        var b = F(10, 20);
        Assert.Equal(new float[] { 21, 42 }, a.Add(b, alpha: 2).ToArray<float>());
        Assert.Equal(new float[] { -4, -8 }, a.Sub(b, alpha: 0.5).ToArray<float>());
    }

    [Fact]
    public void Arithmetic_Broadcasts()
    {
        using var scope = TensorScope.Begin();
        var col = Tensor.From<float>([1, 2], [2, 1]);
        var row = Tensor.From<float>([10, 20, 30], [1, 3]);
        var s = col + row;
        Assert.Equal(new long[] { 2, 3 }, s.Shape);
        Assert.Equal(new float[] { 11, 21, 31, 12, 22, 32 }, s.ToArray<float>());
    }

    [Fact]
    public void Arithmetic_IncompatibleShapes_ThrowTorchException()
    {
        using var scope = TensorScope.Begin();
        var e = Assert.Throws<TorchException>(() => F(1, 2, 3).Add(F(1, 2)));
        Assert.Contains("size", e.Message);
        Assert.Equal(TorchErrorKind.Engine, e.Kind);
    }

    [Fact]
    public void ScalarArithmetic()
    {
        using var scope = TensorScope.Begin();
        var a = F(1, 2, 4);
        Assert.Equal(new float[] { 3.5f, 4.5f, 6.5f }, a.Add(2.5).ToArray<float>());
        Assert.Equal(new float[] { 0, 1, 3 }, a.Sub(1.0).ToArray<float>());
        Assert.Equal(new float[] { 3, 6, 12 }, a.Mul(3.0).ToArray<float>());
        Assert.Equal(new float[] { 0.5f, 1, 2 }, a.Div(2.0).ToArray<float>());
        Assert.Equal(new float[] { 1, 4, 16 }, a.Pow(2.0).ToArray<float>());
        Assert.Equal(new float[] { 2, 2, 4 }, a.Maximum(2.0).ToArray<float>());
        Assert.Equal(new float[] { 1, 2, 2 }, a.Minimum(2.0).ToArray<float>());
    }

    [Fact]
    public void Int64Tensor_PlusLongScalar_StaysInt64()
    {
        using var scope = TensorScope.Begin();
        var i = Tensor.From(new long[] { 1, 2, 3 });
        var r = i.Add(5L);
        Assert.Equal(ScalarType.Int64, r.Dtype);
        Assert.Equal(new long[] { 6, 7, 8 }, r.ToArray<long>());
        var m = i.Mul(long.MaxValue / 4);
        Assert.Equal(ScalarType.Int64, m.Dtype);
        Assert.Equal(long.MaxValue / 4 * 3, m.ToArray<long>()[2]);
    }

    [Fact]
    public void Int32Tensor_PlusLongScalar_KeepsItsOwnIntegerType()
    {
        // PyTorch promotion: a scalar of the same category does not widen the tensor.
        using var scope = TensorScope.Begin();
        var i = Tensor.From(new[] { 1, 2, 3 });
        var r = i.Add(5L);
        Assert.Equal(ScalarType.Int32, r.Dtype);
        Assert.Equal(new[] { 6, 7, 8 }, r.ToArray<int>());
    }

    [Fact]
    public void IntTensor_PlusDouble_BecomesFloat32()
    {
        using var scope = TensorScope.Begin();
        var i = Tensor.From(new long[] { 1, 2 });
        var r = i.Add(0.5);
        Assert.Equal(ScalarType.Float32, r.Dtype);
        Assert.Equal(new[] { 1.5f, 2.5f }, r.ToArray<float>());
        Assert.Equal(ScalarType.Float32, (i * 1.5).Dtype);
    }

    [Fact]
    public void IntTensor_DividedByInt_IsTrueDivision()
    {
        using var scope = TensorScope.Begin();
        var i = Tensor.From(new long[] { 1, 3 });
        var r = i.Div(Tensor.From(new long[] { 2, 2 }));
        Assert.Equal(ScalarType.Float32, r.Dtype);
        Assert.Equal(new[] { 0.5f, 1.5f }, r.ToArray<float>());
    }

    [Fact]
    public void Operators_IntegerLiteralOnAnIntegerTensor_KeepsTheIntegerDtype()
    {
        // Add(long) keeps an int64 tensor int64, but `t + 2L` / `t * 2` bind to the
        // (Tensor, double) operators and silently produce Float32 (PyTorch keeps int64).
        using var scope = TensorScope.Begin();
        var i = Tensor.From(new long[] { 1, 2 });
        Assert.Equal(ScalarType.Int64, (i + 2L).Dtype);
        Assert.Equal(ScalarType.Int64, (i * 2).Dtype);
    }

    [Fact]
    public void Operators_MatchTheirMethods()
    {
        using var scope = TensorScope.Begin();
        var a = F(1, 2, 4);
        var b = F(2, 2, 2);
        Assert.Equal(new float[] { 3, 4, 6 }, (a + b).ToArray<float>());
        Assert.Equal(new float[] { -1, 0, 2 }, (a - b).ToArray<float>());
        Assert.Equal(new float[] { 2, 4, 8 }, (a * b).ToArray<float>());
        Assert.Equal(new float[] { 0.5f, 1, 2 }, (a / b).ToArray<float>());
        Assert.Equal(new float[] { -1, -2, -4 }, (-a).ToArray<float>());
        Assert.Equal(new float[] { 2, 3, 5 }, (a + 1).ToArray<float>());
        Assert.Equal(new float[] { 2, 3, 5 }, (1 + a).ToArray<float>());
        Assert.Equal(new float[] { 0, 1, 3 }, (a - 1).ToArray<float>());
        Assert.Equal(new float[] { 9, 8, 6 }, (10 - a).ToArray<float>());
        Assert.Equal(new float[] { 3, 6, 12 }, (a * 3).ToArray<float>());
        Assert.Equal(new float[] { 3, 6, 12 }, (3 * a).ToArray<float>());
        Assert.Equal(new float[] { 0.5f, 1, 2 }, (a / 2).ToArray<float>());
        Assert.Equal(new float[] { 4, 2, 1 }, (4 / a).ToArray<float>());
    }

    [Fact]
    public void ScalarDividedByIntegerTensor_IsTrueDivision()
    {
        using var scope = TensorScope.Begin();
        var i = Tensor.From(new long[] { 2, 4 });
        var r = 1 / i;
        Assert.True(r.Dtype.IsFloatingPoint());
        Assert.Equal(new[] { 0.5, 0.25 }, r.To(ScalarType.Float64).ToArray<double>());
    }

    [Fact]
    public void UnaryFunctions()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.From(new[] { -1.5, 0.0, 2.25 });
        Assert.Equal(new[] { 1.5, -0.0, -2.25 }, x.Neg().ToArray<double>());
        Assert.Equal(new[] { 1.5, 0, 2.25 }, x.Abs().ToArray<double>());
        Assert.Equal(new[] { 0, 0, 2.25 }, x.Relu().ToArray<double>());
        Assert.Equal(new[] { -2.0, 0, 2 }, x.Floor().ToArray<double>());
        Assert.Equal(new[] { -1.0, 0, 3 }, x.Ceil().ToArray<double>());
        Assert.Equal(new[] { -2.0, 0, 2 }, x.Round().ToArray<double>()); // half to even
        Assert.Equal(new[] { -1.0, 0, 1 }, x.Sign().ToArray<double>());
        Assert.Equal(new[] { 2.25, 0, 5.0625 }, x.Square().ToArray<double>());
        Assert.Equal(new[] { 1 / (1 + Math.Exp(1.5)), 0.5, 1 / (1 + Math.Exp(-2.25)) }, x.Sigmoid().ToArray<double>(), new ToleranceComparer(1e-12));
        Assert.Equal(new[] { Math.Tanh(-1.5), 0, Math.Tanh(2.25) }, x.Tanh().ToArray<double>(), new ToleranceComparer(1e-12));
    }

    [Fact]
    public void ExpLogSqrtPow_MatchMath()
    {
        using var scope = TensorScope.Begin();
        double[] v = [0.5, 1, 2, 9];
        var x = Tensor.From(v);
        var c = new ToleranceComparer(1e-12);
        Assert.Equal(v.Select(a => Math.Exp(a)), x.Exp().ToArray<double>(), c);
        Assert.Equal(v.Select(a => Math.Log(a)), x.Log().ToArray<double>(), c);
        Assert.Equal(v.Select(a => Math.Sqrt(a)), x.Sqrt().ToArray<double>(), c);
        Assert.Equal(v.Select(a => 1 / Math.Sqrt(a)), x.Rsqrt().ToArray<double>(), c);
        Assert.Equal(v.Select(a => Math.Pow(a, 1.5)), x.Pow(1.5).ToArray<double>(), c);
        Assert.Equal(v.Select(a => 1 / a), x.Reciprocal().ToArray<double>(), c);
        Assert.True(x.Log().Exp().AllClose(x, 1e-12, 1e-12));
    }

    [Fact]
    public void LogOfNegative_IsNaN_SqrtOfZero_IsZero()
    {
        using var scope = TensorScope.Begin();
        var l = Tensor.From(new[] { -1f, 0f, 1f }).Log().ToArray<float>();
        Assert.True(float.IsNaN(l[0]));
        Assert.Equal(float.NegativeInfinity, l[1]);
        Assert.Equal(0f, l[2]);
        Assert.Equal(new[] { true, false, false }, Tensor.From(l).IsNaN().ToArray<bool>());
        Assert.Equal(new[] { false, false, true }, Tensor.From(l).IsFinite().ToArray<bool>());
    }

    [Fact]
    public void Remainder_IsPythonStyle()
    {
        using var scope = TensorScope.Begin();
        var r = Tensor.From(new long[] { 7, -7 }).Remainder(Tensor.From(new long[] { 3, 3 }));
        Assert.Equal(new long[] { 1, 2 }, r.ToArray<long>());
    }

    [Fact]
    public void MatMul_OfMatrices()
    {
        using var scope = TensorScope.Begin();
        var a = Tensor.From<float>([1, 2, 3, 4, 5, 6], [2, 3]);
        var b = Tensor.From<float>([1, 0, 0, 1, 1, 1], [3, 2]);
        var c = a.MatMul(b);
        Assert.Equal(new long[] { 2, 2 }, c.Shape);
        Assert.Equal(new float[] { 4, 5, 10, 11 }, c.ToArray<float>());
        Assert.Throws<TorchException>(() => a.MatMul(a));
    }

    // ---- in place -------------------------------------------------------------------------

    [Fact]
    public void InPlaceVariants_MutateAndReturnThis()
    {
        using var scope = TensorScope.Begin();
        var t = F(1, 2, 3);
        var other = F(1, 1, 1);
        Assert.Same(t, t.Add_(other));
        Assert.Equal(new float[] { 2, 3, 4 }, t.ToArray<float>());
        Assert.Same(t, t.Sub_(other, alpha: 2));
        Assert.Equal(new float[] { 0, 1, 2 }, t.ToArray<float>());
        Assert.Same(t, t.Mul_(F(2, 2, 2)));
        Assert.Equal(new float[] { 0, 2, 4 }, t.ToArray<float>());
        Assert.Same(t, t.Div_(F(2, 2, 4)));
        Assert.Equal(new float[] { 0, 1, 1 }, t.ToArray<float>());
        Assert.Same(t, t.Add_(1.5));
        Assert.Equal(new float[] { 1.5f, 2.5f, 2.5f }, t.ToArray<float>());
        Assert.Same(t, t.Mul_(2.0));
        Assert.Same(t, t.Div_(0.5));
        Assert.Equal(new float[] { 6, 10, 10 }, t.ToArray<float>());
        Assert.Same(t, t.Pow_(0.5));
        Assert.Same(t, t.Pow_(2.0));
        Assert.True(t.AllClose(F(6, 10, 10), 1e-6));
        Assert.Same(t, t.Neg_());
        Assert.Same(t, t.Relu_());
        Assert.Equal(new float[] { 0, 0, 0 }, t.ToArray<float>());
        Assert.Same(t, t.Fill_(4));
        Assert.Same(t, t.Sqrt_());
        Assert.Equal(new float[] { 2, 2, 2 }, t.ToArray<float>());
        Assert.Same(t, t.Exp_());
        Assert.Same(t, t.Zero_());
        Assert.Equal(new float[] { 0, 0, 0 }, t.ToArray<float>());
        Assert.Same(t, t.Sigmoid_());
        Assert.Equal(new float[] { 0.5f, 0.5f, 0.5f }, t.ToArray<float>());
    }

    [Fact]
    public void InPlace_OnAView_WritesThroughToTheBase()
    {
        using var scope = TensorScope.Begin();
        var t = Tensor.Zeros([2, 3]);
        t.Select(0, 1).Add_(5.0);
        Assert.Equal(new float[] { 0, 0, 0, 5, 5, 5 }, t.ToArray<float>());
    }

    [Fact]
    public void InPlace_IntegerTensorWithFloatResult_ThrowsTorchException()
    {
        using var scope = TensorScope.Begin();
        var i = Tensor.From(new long[] { 1, 2 });
        Assert.Throws<TorchException>(() => i.Add_(0.5));
        Assert.Equal(new long[] { 1, 2 }, i.ToArray<long>());
        i.Add_(3L);
        Assert.Equal(new long[] { 4, 5 }, i.ToArray<long>());
    }

    [Fact]
    public void CopyFrom_BroadcastsAndConverts()
    {
        using var scope = TensorScope.Begin();
        var t = Tensor.Zeros([2, 2]);
        Assert.Same(t, t.CopyFrom_(Tensor.From(new long[] { 3, 4 })));
        Assert.Equal(new float[] { 3, 4, 3, 4 }, t.ToArray<float>());
    }

    [Fact]
    public void AddCMulAddCDivMaskedFill()
    {
        using var scope = TensorScope.Begin();
        var t = F(1, 1);
        t.AddCMul_(F(2, 3), F(4, 5), 0.5);
        Assert.Equal(new float[] { 5, 8.5f }, t.ToArray<float>());
        t.AddCDiv_(F(2, 3), F(4, 6), 2);
        Assert.Equal(new float[] { 6, 9.5f }, t.ToArray<float>());
        t.MaskedFill_(Tensor.From(new[] { false, true }), -1);
        Assert.Equal(new float[] { 6, -1 }, t.ToArray<float>());
    }

    // ---- comparisons and selection ------------------------------------------------------------

    [Fact]
    public void Comparisons_ReturnBoolTensors()
    {
        using var scope = TensorScope.Begin();
        var a = F(1, 2, 3);
        var b = F(3, 2, 1);
        void Check(Tensor r, params bool[] expected)
        {
            Assert.Equal(ScalarType.Bool, r.Dtype);
            Assert.Equal(expected, r.ToArray<bool>());
        }
        Check(a.Eq(b), false, true, false);
        Check(a.Ne(b), true, false, true);
        Check(a.Lt(b), true, false, false);
        Check(a.Le(b), true, true, false);
        Check(a.Gt(b), false, false, true);
        Check(a.Ge(b), false, true, true);
        Check(a.Eq(2), false, true, false);
        Check(a.Ne(2), true, false, true);
        Check(a.Lt(2), true, false, false);
        Check(a.Le(2), true, true, false);
        Check(a.Gt(2), false, false, true);
        Check(a.Ge(2), false, true, true);
        Check(a.Gt(1).LogicalAnd(a.Lt(3)), false, true, false);
        Check(a.Lt(2).LogicalOr(a.Gt(2)), true, false, true);
        Check(a.Eq(2).LogicalNot(), true, false, true);
    }

    [Fact]
    public void Where_PicksByCondition_AndBroadcasts()
    {
        using var scope = TensorScope.Begin();
        var x = F(-1, 2, -3, 4);
        var r = Tensor.Where(x.Gt(0), x, Tensor.Zeros([1]));
        Assert.Equal(new float[] { 0, 2, 0, 4 }, r.ToArray<float>());
        Assert.Throws<TorchException>(() => Tensor.Where(x, x, x)); // condition must be bool
    }

    [Fact]
    public void Clamp_WithOneOrBothBounds()
    {
        using var scope = TensorScope.Begin();
        var x = F(-2, -0.5f, 0.5f, 2);
        Assert.Equal(new float[] { -1, -0.5f, 0.5f, 1 }, x.Clamp(-1, 1).ToArray<float>());
        Assert.Equal(new float[] { 0, 0, 0.5f, 2 }, x.Clamp(min: 0).ToArray<float>());
        Assert.Equal(new float[] { -2, -0.5f, 0, 0 }, x.Clamp(max: 0).ToArray<float>());
        Assert.Equal(new float[] { -2, -0.5f, 0.5f, 2 }, x.ToArray<float>()); // not in place
        Assert.Throws<TorchException>(() => x.Clamp());
        Assert.Same(x, x.Clamp_(max: 1));
        Assert.Equal(new float[] { -2, -0.5f, 0.5f, 1 }, x.ToArray<float>());
    }

    // ---- reductions -------------------------------------------------------------------------

    [Fact]
    public void SumAndMean_AllAndOverDims_WithKeepDim()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.Arange(0, 24, dtype: ScalarType.Float64).Reshape(2, 3, 4);
        Assert.Equal(276.0, x.Sum().ToDouble());
        Assert.Equal(0, x.Sum().Dim);
        Assert.Equal(11.5, x.Mean().ToDouble());

        var s1 = x.Sum([1]);
        Assert.Equal(new long[] { 2, 4 }, s1.Shape);
        Assert.Equal(new double[] { 12, 15, 18, 21, 48, 51, 54, 57 }, s1.ToArray<double>());

        var s1k = x.Sum([1], keepDim: true);
        Assert.Equal(new long[] { 2, 1, 4 }, s1k.Shape);
        Assert.Equal(s1.ToArray<double>(), s1k.ToArray<double>());

        var m = x.Mean([0, 2], keepDim: true);
        Assert.Equal(new long[] { 1, 3, 1 }, m.Shape);
        // Row r of both batches: mean of (4r..4r+3) and (12+4r..12+4r+3) = 4r + 7.5.
        Assert.Equal(new[] { 7.5, 11.5, 15.5 }, m.ToArray<double>());

        Assert.Equal(new long[] { 2, 3 }, x.Mean([-1]).Shape);
        Assert.Throws<ArgumentException>(() => x.Sum(ReadOnlySpan<long>.Empty));
    }

    [Fact]
    public void Sum_OfIntegersIsInt64_MeanOfIntegersNeedsADtype()
    {
        using var scope = TensorScope.Begin();
        var b = Tensor.From(new[] { true, true, false });
        Assert.Equal(ScalarType.Int64, b.Sum().Dtype);
        Assert.Equal(2, b.Sum().ToInt64());
        var i = Tensor.From(new[] { 1, 2 });
        Assert.Throws<TorchException>(() => i.Mean());
        var m = i.Mean(ScalarType.Float64);
        Assert.Equal(ScalarType.Float64, m.Dtype);
        Assert.Equal(1.5, m.ToDouble());
        Assert.Equal(ScalarType.Float64, i.Sum(ScalarType.Float64).Dtype);
    }

    [Fact]
    public void ProdMaxMinAmaxAmin()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.From<float>([3, -1, 2, 5, 0, 4], [2, 3]);
        Assert.Equal(0.0, x.Prod().ToDouble());
        Assert.Equal(5.0, x.Max().ToDouble());
        Assert.Equal(-1.0, x.Min().ToDouble());
        Assert.Equal(new float[] { 3, 5 }, x.Amax([1]).ToArray<float>());
        Assert.Equal(new float[] { 3, -1, 2 }, x.Amin([0]).ToArray<float>());
        Assert.Equal(new long[] { 2, 1 }, x.Amax([1], keepDim: true).Shape);
    }

    [Fact]
    public void MaxAlongDim_ReturnsValuesAndIndices()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.From<float>([3, -1, 2, 5, 0, 4], [2, 3]);
        var (v, i) = x.Max(1);
        Assert.Equal(new float[] { 3, 5 }, v.ToArray<float>());
        Assert.Equal(ScalarType.Int64, i.Dtype);
        Assert.Equal(new long[] { 0, 0 }, i.ToArray<long>());

        var (v0, i0) = x.Max(0, keepDim: true);
        Assert.Equal(new long[] { 1, 3 }, v0.Shape);
        Assert.Equal(new float[] { 5, 0, 4 }, v0.ToArray<float>());
        Assert.Equal(new long[] { 1, 1, 1 }, i0.ToArray<long>());

        var (mv, mi) = x.Min(1);
        Assert.Equal(new float[] { -1, 0 }, mv.ToArray<float>());
        Assert.Equal(new long[] { 1, 1 }, mi.ToArray<long>());
    }

    [Fact]
    public void ArgMax_WithAndWithoutDim()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.From<float>([3, -1, 2, 5, 0, 4], [2, 3]);
        var flat = x.ArgMax();
        Assert.Equal(0, flat.Dim);
        Assert.Equal(3, flat.ToInt64());
        Assert.Equal(new long[] { 0, 0 }, x.ArgMax(1).ToArray<long>());
        Assert.Equal(new long[] { 1, 1, 1 }, x.ArgMax(0).ToArray<long>());
        Assert.Equal(new long[] { 2, 1 }, x.ArgMax(-1, keepDim: true).Shape);
        Assert.Equal(1, x.ArgMin().ToInt64());
        Assert.Equal(new long[] { 1, 1 }, x.ArgMin(1).ToArray<long>());
    }

    [Fact]
    public void Softmax_SumsToOneAlongItsDim()
    {
        using var scope = TensorScope.Begin();
        LibTorch.ManualSeed(11);
        var x = Tensor.Randn([4, 5, 3]).Mul(10.0);
        var p = x.Softmax(1);
        Assert.Equal(x.Shape, p.Shape);
        Assert.True(p.Sum([1]).AllClose(Tensor.Ones([4, 3]), 0, 1e-5));
        Assert.True(p.Ge(0).LogicalAnd(p.Le(1)).To(ScalarType.Int64).Sum().ToInt64() == p.NumberOfElements);
        // Not normalised along the other dimensions.
        Assert.False(p.Sum([2]).AllClose(Tensor.Ones([4, 5]), 0, 1e-3));
        // Shift invariance.
        Assert.True(x.Add(100.0).Softmax(1).AllClose(p, 1e-3, 1e-5));
    }

    [Fact]
    public void Softmax_OfKnownValues()
    {
        using var scope = TensorScope.Begin();
        var p = Tensor.From(new[] { 0.0, Math.Log(3) }).Softmax(0).ToArray<double>();
        Assert.Equal(0.25, p[0], 12);
        Assert.Equal(0.75, p[1], 12);
    }

    [Fact]
    public void LogSoftmax_EqualsLogOfSoftmax()
    {
        using var scope = TensorScope.Begin();
        LibTorch.ManualSeed(12);
        var x = Tensor.Randn([3, 7]);
        var a = x.LogSoftmax(-1);
        var b = x.Softmax(-1).Log();
        Assert.True(a.AllClose(b, 0, 1e-6));
        var ad = x.LogSoftmax(1, ScalarType.Float64);
        Assert.Equal(ScalarType.Float64, ad.Dtype);
    }

    [Fact]
    public void AllClose_RespectsTolerances()
    {
        using var scope = TensorScope.Begin();
        var a = Tensor.From(new[] { 1.0, 100.0 });
        Assert.True(a.AllClose(a));
        Assert.True(a.AllClose(Tensor.From(new[] { 1.0 + 1e-9, 100.0 })));
        Assert.False(a.AllClose(Tensor.From(new[] { 1.001, 100.0 })));
        Assert.True(a.AllClose(Tensor.From(new[] { 1.001, 100.0 }), rtol: 0, atol: 0.01));
        Assert.True(a.AllClose(Tensor.From(new[] { 1.0, 100.5 }), rtol: 0.01, atol: 0));
        Assert.False(a.AllClose(Tensor.From(new[] { 1.0, 100.5 }), rtol: 0.001, atol: 0));
        var nan = Tensor.From(new[] { double.NaN });
        Assert.False(nan.AllClose(nan));
    }
}

/// <summary>Compares doubles to a tolerance, absolute below magnitude 1 and relative above.</summary>
internal sealed class ToleranceComparer(double tolerance) : IEqualityComparer<double>
{
    public bool Equals(double x, double y) => Math.Abs(x - y) <= tolerance * Math.Max(1, Math.Abs(y)) || x.Equals(y);
    public int GetHashCode(double obj) => 0;
}
