using UNet.Segmentation.Torch;

namespace UNet.Segmentation.Torch.Tests;

public class TensorBasicsTests
{
    [Fact]
    public void FromArray_RoundTripsValuesShapeAndDtype()
    {
        using var scope = TensorScope.Begin();
        float[] data = [1, 2, 3, 4, 5, 6];
        var t = Tensor.From<float>(data, [2, 3]);
        Assert.Equal(new long[] { 2, 3 }, t.Shape);
        Assert.Equal(ScalarType.Float32, t.Dtype);
        Assert.Equal(Device.Cpu, t.Device);
        Assert.Equal(data, t.ToArray<float>());
        Assert.Equal(21.0, t.Sum().ToDouble());
    }

    // ---- creation -------------------------------------------------------------------------

    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.Float64)]
    [InlineData(ScalarType.Int64)]
    [InlineData(ScalarType.Int32)]
    [InlineData(ScalarType.UInt8)]
    [InlineData(ScalarType.Bool)]
    public void Zeros_HasShapeDtypeAndOnlyZeros(ScalarType dtype)
    {
        using var scope = TensorScope.Begin();
        var t = Tensor.Zeros([2, 3, 4], dtype);
        Assert.Equal(new long[] { 2, 3, 4 }, t.Shape);
        Assert.Equal(dtype, t.Dtype);
        Assert.Equal(24, t.NumberOfElements);
        Assert.Equal(0.0, t.To(ScalarType.Float64).Abs().Sum().ToDouble());
    }

    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.Float64)]
    [InlineData(ScalarType.Float16)]
    [InlineData(ScalarType.BFloat16)]
    [InlineData(ScalarType.Int64)]
    [InlineData(ScalarType.Int16)]
    [InlineData(ScalarType.Int8)]
    public void Ones_HasShapeDtypeAndOnlyOnes(ScalarType dtype)
    {
        using var scope = TensorScope.Begin();
        var t = Tensor.Ones([3, 5], dtype);
        Assert.Equal(new long[] { 3, 5 }, t.Shape);
        Assert.Equal(dtype, t.Dtype);
        Assert.All(t.To(ScalarType.Float64).ToArray<double>(), v => Assert.Equal(1.0, v));
    }

    [Fact]
    public void Full_FillsFloatAndIntegerTensors_IntegerDtypeTruncates()
    {
        using var scope = TensorScope.Begin();
        var f = Tensor.Full([2, 2], 2.5);
        Assert.Equal(ScalarType.Float32, f.Dtype);
        Assert.Equal(new float[] { 2.5f, 2.5f, 2.5f, 2.5f }, f.ToArray<float>());

        var i = Tensor.Full([3], 7, ScalarType.Int64);
        Assert.Equal(ScalarType.Int64, i.Dtype);
        Assert.Equal(new long[] { 7, 7, 7 }, i.ToArray<long>());

        var big = Tensor.Full([1], 9_007_199_254_740_993d, ScalarType.Float64);
        Assert.Equal(9_007_199_254_740_993d, big.ToDouble());

        var b = Tensor.Full([2], 1, ScalarType.Bool);
        Assert.Equal(new[] { true, true }, b.ToArray<bool>());
    }

    [Fact]
    public void Scalar_IsZeroDimensional()
    {
        using var scope = TensorScope.Begin();
        var s = Tensor.Scalar(3.25, ScalarType.Float64);
        Assert.Equal(0, s.Dim);
        Assert.Empty(s.Shape);
        Assert.Equal(1, s.NumberOfElements);
        Assert.Equal(3.25, s.ToDouble());
    }

    [Fact]
    public void Arange_FloatAndIntegerSteps()
    {
        using var scope = TensorScope.Begin();
        var a = Tensor.Arange(0, 5);
        Assert.Equal(ScalarType.Float32, a.Dtype);
        Assert.Equal(new float[] { 0, 1, 2, 3, 4 }, a.ToArray<float>());

        var b = Tensor.Arange(1, 2, 0.25, ScalarType.Float64);
        Assert.Equal(new[] { 1.0, 1.25, 1.5, 1.75 }, b.ToArray<double>());

        var c = Tensor.Arange(10, 0, -3, ScalarType.Int64);
        Assert.Equal(ScalarType.Int64, c.Dtype);
        Assert.Equal(new long[] { 10, 7, 4, 1 }, c.ToArray<long>());

        Assert.Throws<ArgumentOutOfRangeException>(() => Tensor.Arange(0, 1, 0));
    }

    [Fact]
    public void Rand_IsInUnitInterval_WithRequestedShapeAndDtype()
    {
        using var scope = TensorScope.Begin();
        LibTorch.ManualSeed(1);
        var t = Tensor.Rand([100, 10], ScalarType.Float64);
        Assert.Equal(new long[] { 100, 10 }, t.Shape);
        Assert.Equal(ScalarType.Float64, t.Dtype);
        var v = t.ToArray<double>();
        Assert.All(v, x => Assert.InRange(x, 0.0, 0.999999999999));
        // 1000 uniforms: mean 0.5 with standard error ~0.009.
        Assert.InRange(v.Average(), 0.45, 0.55);
        Assert.True(v.Distinct().Count() > 990);
    }

    [Fact]
    public void Randn_HasStandardNormalMoments()
    {
        using var scope = TensorScope.Begin();
        LibTorch.ManualSeed(2);
        var t = Tensor.Randn([10_000]);
        Assert.Equal(ScalarType.Float32, t.Dtype);
        var v = t.ToArray<float>();
        double mean = v.Average(x => (double)x);
        double var = v.Average(x => (x - mean) * (x - mean));
        Assert.InRange(mean, -0.05, 0.05);
        Assert.InRange(var, 0.95, 1.05);
        Assert.Contains(v, x => x < 0);
    }

    [Theory]
    [InlineData(ScalarType.Int64)]
    [InlineData(ScalarType.Int32)]
    [InlineData(ScalarType.UInt8)]
    public void RandInt_StaysInHalfOpenRange_AndHitsBothEnds(ScalarType dtype)
    {
        using var scope = TensorScope.Begin();
        LibTorch.ManualSeed(3);
        var t = Tensor.RandInt(3, 7, [1000], dtype);
        Assert.Equal(dtype, t.Dtype);
        Assert.Equal(new long[] { 1000 }, t.Shape);
        var v = t.To(ScalarType.Int64).ToArray<long>();
        Assert.All(v, x => Assert.InRange(x, 3, 6));
        Assert.Equal(new long[] { 3, 4, 5, 6 }, v.Distinct().Order().ToArray());
    }

    [Fact]
    public void RandInt_EmptyRange_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Tensor.RandInt(5, 5, [2]));
    }

    [Fact]
    public void ManualSeed_MakesRandAndRandnRepeatable_DifferentSeedsDiffer()
    {
        using var scope = TensorScope.Begin();
        LibTorch.ManualSeed(42);
        var r1 = Tensor.Rand([64]).ToArray<float>();
        var n1 = Tensor.Randn([64]).ToArray<float>();
        LibTorch.ManualSeed(42);
        var r2 = Tensor.Rand([64]).ToArray<float>();
        var n2 = Tensor.Randn([64]).ToArray<float>();
        LibTorch.ManualSeed(43);
        var r3 = Tensor.Rand([64]).ToArray<float>();
        var n3 = Tensor.Randn([64]).ToArray<float>();

        Assert.Equal(r1, r2);
        Assert.Equal(n1, n2);
        Assert.NotEqual(r1, r3);
        Assert.NotEqual(n1, n3);
        // The generator advances: the second draw after a seed differs from the first.
        Assert.NotEqual(r1, n1);
    }

    private static void AssertRoundTrip<T>(T[] data, long[] shape, ScalarType expected) where T : unmanaged
    {
        using var scope = TensorScope.Begin();
        var t = Tensor.From<T>(data, shape);
        Assert.Equal(expected, t.Dtype);
        Assert.Equal(shape, t.Shape);
        Assert.Equal(data, t.ToArray<T>());
    }

    [Fact]
    public void From_EverySupportedElementType_RoundTrips()
    {
        AssertRoundTrip(new float[] { 1.5f, -2, float.MaxValue, float.Epsilon }, [2, 2], ScalarType.Float32);
        AssertRoundTrip(new double[] { Math.PI, -0.0, 1e300, double.NegativeInfinity }, [4], ScalarType.Float64);
        AssertRoundTrip(new[] { (Half)1.5, (Half)(-65504), Half.Epsilon }, [3, 1], ScalarType.Float16);
        AssertRoundTrip(new long[] { long.MinValue, -1, 0, long.MaxValue }, [1, 4], ScalarType.Int64);
        AssertRoundTrip(new[] { int.MinValue, 0, int.MaxValue }, [3], ScalarType.Int32);
        AssertRoundTrip(new byte[] { 0, 127, 128, 255 }, [2, 2], ScalarType.UInt8);
        AssertRoundTrip(new[] { true, false, false, true, true }, [5], ScalarType.Bool);
        AssertRoundTrip(new sbyte[] { sbyte.MinValue, -1, sbyte.MaxValue }, [3], ScalarType.Int8);
        AssertRoundTrip(new short[] { short.MinValue, 7, short.MaxValue, 0 }, [2, 1, 2], ScalarType.Int16);
    }

    [Fact]
    public void From_OneDimensionalArrayOverload_UsesArrayLength()
    {
        using var scope = TensorScope.Begin();
        var t = Tensor.From(new[] { 1, 2, 3, 4, 5 });
        Assert.Equal(new long[] { 5 }, t.Shape);
        Assert.Equal(ScalarType.Int32, t.Dtype);
    }

    [Fact]
    public void From_DataLengthNotMatchingShape_Throws()
    {
        using var scope = TensorScope.Begin();
        var e = Assert.Throws<TorchException>(() => Tensor.From<float>(new float[5], [2, 3]));
        Assert.Equal(TorchErrorKind.InvalidArgument, e.Kind);
    }

    [Fact]
    public void From_UnsupportedElementType_ThrowsNotSupported()
    {
        Assert.Throws<NotSupportedException>(() => Tensor.From(new ulong[] { 1 }));
    }

    [Fact]
    public void FromBytes_BFloat16_DecodesToTheExpectedFloats()
    {
        using var scope = TensorScope.Begin();
        float[] values = [1f, -2f, 0.5f, 3f];
        // bfloat16 is the top half of a float32 (exact for these values).
        var bytes = new byte[values.Length * 2];
        for (int i = 0; i < values.Length; i++)
        {
            uint bits = BitConverter.SingleToUInt32Bits(values[i]) >> 16;
            bytes[2 * i] = (byte)bits;
            bytes[2 * i + 1] = (byte)(bits >> 8);
        }
        var t = Tensor.FromBytes(bytes, [2, 2], ScalarType.BFloat16);
        Assert.Equal(ScalarType.BFloat16, t.Dtype);
        Assert.Equal(new long[] { 2, 2 }, t.Shape);
        Assert.Equal(values, t.To(ScalarType.Float32).ToArray<float>());

        var back = new byte[bytes.Length];
        t.CopyBytesTo(back);
        Assert.Equal(bytes, back);
    }

    // ---- queries --------------------------------------------------------------------------

    [Fact]
    public void Queries_DimSizeNumberOfElements()
    {
        using var scope = TensorScope.Begin();
        var t = Tensor.Zeros([2, 3, 5]);
        Assert.Equal(3, t.Dim);
        Assert.Equal(2, t.Size(0));
        Assert.Equal(5, t.Size(-1));
        Assert.Equal(3, t.Size(-2));
        Assert.Equal(30, t.NumberOfElements);
        Assert.Throws<ArgumentOutOfRangeException>(() => t.Size(3));
        Assert.Throws<ArgumentOutOfRangeException>(() => t.Size(-4));
    }

    [Fact]
    public void GetShape_FillsASpan_AndRejectsASpanTooSmall()
    {
        using var scope = TensorScope.Begin();
        var t = Tensor.Zeros([4, 1, 7]);
        Span<long> big = stackalloc long[8];
        big.Fill(-1);
        Assert.Equal(3, t.GetShape(big));
        Assert.Equal(new long[] { 4, 1, 7, -1 }, big[..4].ToArray());

        var small = new long[2];
        var e = Assert.Throws<ArgumentException>(() => t.GetShape(small));
        Assert.Equal("destination", e.ParamName);
    }

    [Fact]
    public void GetStrides_OfRowMajorAndTransposed()
    {
        using var scope = TensorScope.Begin();
        var t = Tensor.Zeros([2, 3, 4]);
        var s = new long[3];
        t.GetStrides(s);
        Assert.Equal(new long[] { 12, 4, 1 }, s);
        t.Transpose(0, 2).GetStrides(s);
        Assert.Equal(new long[] { 1, 4, 12 }, s);
    }

    [Fact]
    public void IsContiguous_FalseForTransposedView_TrueAfterContiguous()
    {
        using var scope = TensorScope.Begin();
        var t = Tensor.Arange(0, 6).Reshape(2, 3);
        Assert.True(t.IsContiguous());
        var tt = t.Transpose(0, 1);
        Assert.False(tt.IsContiguous());
        Assert.True(tt.SharesStorageWith(t));
        var c = tt.Contiguous();
        Assert.True(c.IsContiguous());
        Assert.False(c.SharesStorageWith(t));
        Assert.Equal(new float[] { 0, 3, 1, 4, 2, 5 }, c.ToArray<float>());
        // ToArray of the non-contiguous view reads it in logical order too.
        Assert.Equal(c.ToArray<float>(), tt.ToArray<float>());
    }

    [Fact]
    public void ChannelsLast_AfterContiguous_IsChannelsLastNotRowMajor()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.Rand([2, 3, 4, 5]);
        Assert.True(x.IsContiguous());
        Assert.False(x.IsContiguous(MemoryFormat.ChannelsLast));

        var cl = x.Contiguous(MemoryFormat.ChannelsLast);
        Assert.True(cl.IsContiguous(MemoryFormat.ChannelsLast));
        Assert.False(cl.IsContiguous());
        var strides = new long[4];
        cl.GetStrides(strides);
        Assert.Equal(new long[] { 60, 1, 15, 3 }, strides);
        Assert.True(cl.AllClose(x, 0, 0));
        Assert.Equal(x.ToArray<float>(), cl.ToArray<float>());
    }

    // ---- conversion -----------------------------------------------------------------------

    [Fact]
    public void ToDtype_ConvertsValues_AndTruncatesTowardZero()
    {
        using var scope = TensorScope.Begin();
        var f = Tensor.From(new[] { 1.7f, -1.7f, 2.0f });
        var i = f.To(ScalarType.Int64);
        Assert.Equal(ScalarType.Int64, i.Dtype);
        Assert.Equal(new long[] { 1, -1, 2 }, i.ToArray<long>());
        var d = f.To(ScalarType.Float64);
        Assert.Equal(ScalarType.Float64, d.Dtype);
        Assert.Equal((double)1.7f, d.ToArray<double>()[0]);
        var b = f.To(ScalarType.Bool);
        Assert.Equal(new[] { true, true, true }, b.ToArray<bool>());
    }

    [Fact]
    public void ToSameDtype_SharesData_UnlessCopyRequested()
    {
        using var scope = TensorScope.Begin();
        var f = Tensor.From(new[] { 1f, 2f });
        var same = f.To(ScalarType.Float32);
        Assert.True(same.SharesStorageWith(f));
        var copy = f.To(dtype: ScalarType.Float32, copy: true);
        Assert.False(copy.SharesStorageWith(f));
    }

    [Fact]
    public void ToMemoryFormat_ChannelsLast_KeepsValues()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.Rand([1, 2, 3, 3]);
        var cl = x.To(memoryFormat: MemoryFormat.ChannelsLast);
        Assert.True(cl.IsContiguous(MemoryFormat.ChannelsLast));
        Assert.False(cl.IsContiguous());
        Assert.Equal(x.ToArray<float>(), cl.ToArray<float>());
        var back = cl.To(memoryFormat: MemoryFormat.Contiguous);
        Assert.True(back.IsContiguous());
    }

    [Fact]
    public void Clone_IsIndependentOfTheOriginal()
    {
        using var scope = TensorScope.Begin();
        var a = Tensor.From(new[] { 1f, 2f, 3f });
        var b = a.Clone();
        Assert.False(b.SharesStorageWith(a));
        b.Add_(10.0);
        Assert.Equal(new[] { 1f, 2f, 3f }, a.ToArray<float>());
        Assert.Equal(new[] { 11f, 12f, 13f }, b.ToArray<float>());
    }

    [Fact]
    public void Clone_PreservesChannelsLastByDefault()
    {
        using var scope = TensorScope.Begin();
        var cl = Tensor.Rand([1, 3, 2, 2]).Contiguous(MemoryFormat.ChannelsLast);
        Assert.True(cl.Clone().IsContiguous(MemoryFormat.ChannelsLast));
        Assert.True(cl.Clone(MemoryFormat.Contiguous).IsContiguous());
    }

    [Fact]
    public void Detach_SharesStorage_MutationsAreVisible()
    {
        using var scope = TensorScope.Begin();
        var a = Tensor.From(new[] { 1f, 2f }).RequiresGrad_();
        var d = a.Detach();
        Assert.True(d.SharesStorageWith(a));
        Assert.False(d.RequiresGrad);
        d.Mul_(3.0);
        Assert.Equal(new[] { 3f, 6f }, a.ToArray<float>());
    }

    [Fact]
    public void Alias_IsASecondHandleToTheSameTensor()
    {
        using var scope = TensorScope.Begin();
        var a = Tensor.From(new[] { 1f, 2f });
        var b = a.Alias();
        Assert.NotSame(a, b);
        Assert.True(b.SharesStorageWith(a));
        b.Dispose();
        Assert.Equal(new[] { 1f, 2f }, a.ToArray<float>());
    }

    [Fact]
    public void SharesStorageWith_FalseForUnrelatedTensors()
    {
        using var scope = TensorScope.Begin();
        Assert.False(Tensor.Zeros([2]).SharesStorageWith(Tensor.Zeros([2])));
    }

    // ---- items ----------------------------------------------------------------------------

    [Fact]
    public void ItemConversions_ForFloatIntegerAndBool()
    {
        using var scope = TensorScope.Begin();
        Assert.Equal(2.5, Tensor.Scalar(2.5, ScalarType.Float64).ToDouble());
        Assert.Equal(2.5f, Tensor.Scalar(2.5).ToSingle());
        Assert.Equal(-7, Tensor.Scalar(-7.9, ScalarType.Float32).ToInt64());
        Assert.Equal(long.MaxValue, Tensor.From(new[] { long.MaxValue }).ToInt64());
        Assert.Equal(12, Tensor.From(new[] { 12 }).ToDouble());
        Assert.True(Tensor.From(new[] { true }).ToBoolean());
        Assert.False(Tensor.From(new[] { false }).ToBoolean());
        Assert.True(Tensor.Scalar(0.25).ToBoolean());
        Assert.False(Tensor.Scalar(0).ToBoolean());
        Assert.Equal(1, Tensor.From(new[] { true }).ToInt64());
        // A one-element tensor of any rank has an item.
        Assert.Equal(5.0, Tensor.Full([1, 1, 1], 5).ToDouble());
    }

    [Fact]
    public void Item_OfAMultiElementTensor_ThrowsTorchException()
    {
        using var scope = TensorScope.Begin();
        var t = Tensor.Zeros([2, 3]);
        var e = Assert.Throws<TorchException>(() => t.ToDouble());
        Assert.Contains("6", e.Message);
        Assert.Throws<TorchException>(() => t.ToInt64());
        Assert.Throws<TorchException>(() => t.ToBoolean());
    }

    [Fact]
    public void CopyTo_WrongElementType_ThrowsArgumentException()
    {
        using var scope = TensorScope.Begin();
        var t = Tensor.Zeros([4]);
        var e = Assert.Throws<ArgumentException>(() => t.CopyTo<double>(new double[4]));
        Assert.Equal("destination", e.ParamName);
        Assert.Throws<ArgumentException>(() => t.ToArray<int>());
    }

    [Fact]
    public void CopyTo_WrongLength_ThrowsTorchException()
    {
        using var scope = TensorScope.Begin();
        var t = Tensor.Zeros([4]);
        Assert.Throws<TorchException>(() => t.CopyTo<float>(new float[3]));
        var ok = new float[4];
        t.Add(1.0).CopyTo<float>(ok);
        Assert.Equal(new[] { 1f, 1f, 1f, 1f }, ok);
    }

    [Fact]
    public void ToString_DescribesShapeDtypeDevice()
    {
        using var scope = TensorScope.Begin();
        var t = Tensor.Zeros([2, 3], ScalarType.Int64);
        Assert.Equal("Tensor([2, 3], Int64, cpu)", t.ToString());
        t.Dispose();
        Assert.Equal("Tensor(disposed)", t.ToString());
    }
}
