namespace UNet.Segmentation.Torch.Tests;

public class TensorShapeTests
{
    /// <summary>0, 1, ..., n−1 as float32 in the given shape.</summary>
    private static Tensor Iota(params long[] shape)
    {
        long n = shape.Aggregate(1L, (a, b) => a * b);
        return Tensor.Arange(0, n).Reshape(shape);
    }

    [Fact]
    public void Reshape_KeepsRowMajorOrder_AndInfersMinusOne()
    {
        using var scope = TensorScope.Begin();
        var x = Iota(2, 6);
        var r = x.Reshape(3, -1);
        Assert.Equal(new long[] { 3, 4 }, r.Shape);
        Assert.Equal(x.ToArray<float>(), r.ToArray<float>());
        Assert.True(r.SharesStorageWith(x));
        Assert.Throws<TorchException>(() => x.Reshape(5, -1));
    }

    [Fact]
    public void Reshape_OfNonContiguous_Copies_ViewThrows()
    {
        using var scope = TensorScope.Begin();
        var t = Iota(2, 3).Transpose(0, 1);
        var r = t.Reshape(6);
        Assert.Equal(new float[] { 0, 3, 1, 4, 2, 5 }, r.ToArray<float>());
        Assert.False(r.SharesStorageWith(t));

        var e = Assert.Throws<TorchException>(() => t.View(6));
        Assert.Contains("view size is not compatible", e.Message);
        Assert.Equal(TorchErrorKind.Engine, e.Kind);
    }

    [Fact]
    public void View_OfContiguous_SharesStorage()
    {
        using var scope = TensorScope.Begin();
        var x = Iota(4, 3);
        var v = x.View(2, 6);
        Assert.Equal(new long[] { 2, 6 }, v.Shape);
        Assert.True(v.SharesStorageWith(x));
        v.Fill_(1);
        Assert.Equal(12.0, x.Sum().ToDouble());
    }

    [Fact]
    public void Permute_ReordersDimensionsAndValues()
    {
        using var scope = TensorScope.Begin();
        var x = Iota(2, 3, 4);
        var p = x.Permute(2, 0, 1);
        Assert.Equal(new long[] { 4, 2, 3 }, p.Shape);
        var xv = x.ToArray<float>();
        var pv = p.ToArray<float>();
        for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
        for (int k = 0; k < 4; k++)
            Assert.Equal(xv[i * 12 + j * 4 + k], pv[k * 6 + i * 3 + j]);
        Assert.Throws<TorchException>(() => x.Permute(0, 1));
        Assert.Throws<TorchException>(() => x.Permute(0, 0, 1));
    }

    [Fact]
    public void Transpose_SwapsTwoDimensions()
    {
        using var scope = TensorScope.Begin();
        var x = Iota(2, 3);
        var t = x.Transpose(0, 1);
        Assert.Equal(new long[] { 3, 2 }, t.Shape);
        Assert.Equal(new float[] { 0, 3, 1, 4, 2, 5 }, t.ToArray<float>());
        Assert.True(t.SharesStorageWith(x));
        Assert.Equal(t.ToArray<float>(), x.Transpose(-1, -2).ToArray<float>());
        Assert.Throws<TorchException>(() => x.Transpose(0, 2));
    }

    [Fact]
    public void SqueezeAndUnsqueeze()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.Zeros([1, 3, 1, 2]);
        Assert.Equal(new long[] { 3, 2 }, x.Squeeze().Shape);
        Assert.Equal(new long[] { 3, 1, 2 }, x.Squeeze(0).Shape);
        Assert.Equal(new long[] { 1, 3, 2 }, x.Squeeze(-2).Shape);
        Assert.Equal(new long[] { 1, 3, 1, 2 }, x.Squeeze(1).Shape); // size 3: untouched
        Assert.Equal(new long[] { 1, 1, 3, 1, 2 }, x.Unsqueeze(0).Shape);
        Assert.Equal(new long[] { 1, 3, 1, 2, 1 }, x.Unsqueeze(-1).Shape);
        Assert.Equal(new long[] { 1, 3, 1, 1, 2 }, x.Unsqueeze(3).Shape);
        Assert.Throws<TorchException>(() => x.Unsqueeze(6));
    }

    [Fact]
    public void Flatten_MergesARangeOfDimensions()
    {
        using var scope = TensorScope.Begin();
        var x = Iota(2, 3, 4);
        Assert.Equal(new long[] { 24 }, x.Flatten().Shape);
        Assert.Equal(new long[] { 2, 12 }, x.Flatten(1).Shape);
        Assert.Equal(new long[] { 6, 4 }, x.Flatten(0, 1).Shape);
        Assert.Equal(x.ToArray<float>(), x.Flatten().ToArray<float>());
    }

    [Fact]
    public void ExpandAndRepeat()
    {
        using var scope = TensorScope.Begin();
        var col = Tensor.From<float>([1, 2], [2, 1]);
        var e = col.Expand(2, 3);
        Assert.Equal(new long[] { 2, 3 }, e.Shape);
        Assert.Equal(new float[] { 1, 1, 1, 2, 2, 2 }, e.ToArray<float>());
        Assert.True(e.SharesStorageWith(col));
        var r = col.Repeat(2, 2);
        Assert.Equal(new long[] { 4, 2 }, r.Shape);
        Assert.Equal(new float[] { 1, 1, 2, 2, 1, 1, 2, 2 }, r.ToArray<float>());
        Assert.Throws<TorchException>(() => Iota(2, 3).Expand(3, 3));
    }

    [Fact]
    public void Narrow_IsAViewOfAContiguousRange()
    {
        using var scope = TensorScope.Begin();
        var x = Iota(3, 4);
        var n = x.Narrow(1, 1, 2);
        Assert.Equal(new long[] { 3, 2 }, n.Shape);
        Assert.Equal(new float[] { 1, 2, 5, 6, 9, 10 }, n.ToArray<float>());
        Assert.True(n.SharesStorageWith(x));
        n.Zero_();
        Assert.Equal(66.0 - 33.0, x.Sum().ToDouble());
        Assert.Throws<TorchException>(() => x.Narrow(1, 3, 2));
    }

    [Fact]
    public void Slice_WithStepAndClampedEnd()
    {
        using var scope = TensorScope.Begin();
        var x = Iota(3, 4);
        Assert.Equal(new float[] { 0, 2, 4, 6, 8, 10 }, x.Slice(1, 0, 4, 2).ToArray<float>());
        var tail = x.Slice(0, 1, 100);
        Assert.Equal(new long[] { 2, 4 }, tail.Shape);
        Assert.Equal(new float[] { 4, 5, 6, 7, 8, 9, 10, 11 }, tail.ToArray<float>());
        Assert.Equal(new long[] { 3, 1 }, x.Slice(1, 1, 3, 5).Shape);
        Assert.Equal(new long[] { 0, 4 }, x.Slice(0, 2, 1).Shape);
        Assert.Throws<ArgumentOutOfRangeException>(() => x.Slice(0, 0, 3, 0));
    }

    [Fact]
    public void Select_RemovesTheDimension()
    {
        using var scope = TensorScope.Begin();
        var x = Iota(3, 4);
        var row = x.Select(0, 1);
        Assert.Equal(new long[] { 4 }, row.Shape);
        Assert.Equal(new float[] { 4, 5, 6, 7 }, row.ToArray<float>());
        Assert.Equal(new float[] { 3, 7, 11 }, x.Select(1, -1).ToArray<float>());
        var e = Assert.Throws<TorchException>(() => x.Select(0, 3));
        Assert.Contains("out of", e.Message);
    }

    [Fact]
    public void IndexSelect_GathersSlicesInIndexOrder()
    {
        using var scope = TensorScope.Begin();
        var x = Iota(3, 4);
        var r = x.IndexSelect(0, Tensor.From(new long[] { 2, 0, 2 }));
        Assert.Equal(new long[] { 3, 4 }, r.Shape);
        Assert.Equal(new float[] { 8, 9, 10, 11, 0, 1, 2, 3, 8, 9, 10, 11 }, r.ToArray<float>());
        Assert.False(r.SharesStorageWith(x));
        var c = x.IndexSelect(1, Tensor.From(new long[] { 3 }));
        Assert.Equal(new float[] { 3, 7, 11 }, c.ToArray<float>());
        Assert.Throws<TorchException>(() => x.IndexSelect(0, Tensor.From(new long[] { 3 })));
        Assert.Throws<TorchException>(() => x.IndexSelect(0, Tensor.From(new[] { 0f })));
    }

    [Fact]
    public void Cat_JoinsAlongAnExistingDimension()
    {
        using var scope = TensorScope.Begin();
        var a = Iota(2, 2);
        var b = Tensor.Full([2, 1], 9);
        var c = Tensor.Cat([a, b], 1);
        Assert.Equal(new long[] { 2, 3 }, c.Shape);
        Assert.Equal(new float[] { 0, 1, 9, 2, 3, 9 }, c.ToArray<float>());
        var d = Tensor.Cat([a, a, a]);
        Assert.Equal(new long[] { 6, 2 }, d.Shape);
        Assert.Equal(new long[] { 2, 2 }, Tensor.Cat([a]).Shape);
    }

    [Fact]
    public void Stack_JoinsAlongANewDimension()
    {
        using var scope = TensorScope.Begin();
        var a = Tensor.From(new[] { 1f, 2f });
        var b = Tensor.From(new[] { 3f, 4f });
        var s0 = Tensor.Stack([a, b]);
        Assert.Equal(new long[] { 2, 2 }, s0.Shape);
        Assert.Equal(new float[] { 1, 2, 3, 4 }, s0.ToArray<float>());
        var s1 = Tensor.Stack([a, b], 1);
        Assert.Equal(new float[] { 1, 3, 2, 4 }, s1.ToArray<float>());
        Assert.Equal(new long[] { 2, 2 }, Tensor.Stack([a, b], -1).Shape);
    }

    [Fact]
    public void Cat_MismatchedShapes_ThrowsWithLibtorchsMessage()
    {
        using var scope = TensorScope.Begin();
        var e = Assert.Throws<TorchException>(() => Tensor.Cat([Tensor.Zeros([2, 3]), Tensor.Zeros([2, 4])]));
        Assert.Contains("Sizes of tensors must match except in dimension 0", e.Message);
        Assert.Contains("Expected size 3 but got size 4", e.Message);
        Assert.Equal(TorchErrorKind.Engine, e.Kind);
    }

    [Fact]
    public void Stack_MismatchedShapes_ThrowsWithLibtorchsMessage()
    {
        using var scope = TensorScope.Begin();
        var e = Assert.Throws<TorchException>(() => Tensor.Stack([Tensor.Zeros([2, 3]), Tensor.Zeros([2, 4])]));
        Assert.Contains("stack expects each tensor to be equal size", e.Message);
        Assert.Contains("[2, 4]", e.Message);
    }

    [Fact]
    public void CatAndStack_RejectEmptyAndNullLists()
    {
        using var scope = TensorScope.Begin();
        Assert.Throws<ArgumentException>(() => Tensor.Cat([]));
        Assert.Throws<ArgumentNullException>(() => Tensor.Stack(null!));
        Assert.Throws<ArgumentNullException>(() => Tensor.Cat([Tensor.Zeros([1]), null!]));
    }

    [Fact]
    public void Cat_OfMoreThan32Tensors_UsesTheHeapPath()
    {
        using var scope = TensorScope.Begin();
        var parts = Enumerable.Range(0, 40).Select(i => Tensor.Full([1], i)).ToList();
        var c = Tensor.Cat(parts);
        Assert.Equal(Enumerable.Range(0, 40).Select(i => (float)i).ToArray(), c.ToArray<float>());
    }

    [Fact]
    public void Flip_ReversesTheGivenDimensions()
    {
        using var scope = TensorScope.Begin();
        var x = Iota(2, 3);
        Assert.Equal(new float[] { 3, 4, 5, 0, 1, 2 }, x.Flip(0).ToArray<float>());
        Assert.Equal(new float[] { 2, 1, 0, 5, 4, 3 }, x.Flip(1).ToArray<float>());
        Assert.Equal(new float[] { 5, 4, 3, 2, 1, 0 }, x.Flip(0, 1).ToArray<float>());
        Assert.Equal(new float[] { 0, 1, 2, 3, 4, 5 }, x.ToArray<float>());
    }

    [Fact]
    public void Pad_Constant_LastDimFirst()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.From<float>([1, 2, 3, 4], [2, 2]);
        // (left 1, right 0) on the last dimension, (top 0, bottom 1) on the first.
        var p = x.Pad([1, 0, 0, 1], PaddingMode.Constant, 9);
        Assert.Equal(new long[] { 3, 3 }, p.Shape);
        Assert.Equal(new float[] { 9, 1, 2, 9, 3, 4, 9, 9, 9 }, p.ToArray<float>());
        var z = x.Pad([1, 1]);
        Assert.Equal(new float[] { 0, 1, 2, 0, 0, 3, 4, 0 }, z.ToArray<float>());
    }

    [Fact]
    public void Pad_Reflect_OneAndTwoDimensions()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.From<float>([1, 2, 3, 4], [1, 4]);
        var p = x.Pad([2, 1], PaddingMode.Reflect);
        Assert.Equal(new float[] { 3, 2, 1, 2, 3, 4, 3 }, p.ToArray<float>());

        var img = Tensor.Arange(1, 10).Reshape(1, 3, 3);
        var q = img.Pad([1, 1, 1, 1], PaddingMode.Reflect);
        Assert.Equal(new long[] { 1, 5, 5 }, q.Shape);
        Assert.Equal(new float[]
        {
            5, 4, 5, 6, 5,
            2, 1, 2, 3, 2,
            5, 4, 5, 6, 5,
            8, 7, 8, 9, 8,
            5, 4, 5, 6, 5,
        }, q.ToArray<float>());
    }

    [Fact]
    public void Pad_Replicate_RepeatsTheEdge()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.From<float>([1, 2, 3, 4], [1, 4]);
        Assert.Equal(new float[] { 1, 1, 2, 3, 4, 4, 4 }, x.Pad([1, 2], PaddingMode.Replicate).ToArray<float>());
    }

    [Fact]
    public void Pad_Reflect_WiderThanTheInput_Throws()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.From<float>([1, 2, 3, 4], [1, 4]);
        Assert.Throws<TorchException>(() => x.Pad([4, 0], PaddingMode.Reflect));
        Assert.Throws<ArgumentException>(() => x.Pad([1, 1, 1]));
    }

    [Fact]
    public void OneHot_AddsAClassDimension()
    {
        using var scope = TensorScope.Begin();
        var labels = Tensor.From<long>([0, 2, 1, 2], [2, 2]);
        var h = labels.OneHot(3);
        Assert.Equal(new long[] { 2, 2, 3 }, h.Shape);
        Assert.Equal(ScalarType.Int64, h.Dtype);
        Assert.Equal(new long[] { 1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1 }, h.ToArray<long>());
        // The class dimension sums to one and its argmax is the label.
        Assert.Equal(labels.ToArray<long>(), h.ArgMax(-1).ToArray<long>());
    }

    [Fact]
    public void OneHot_LabelOutOfRangeOrNonIntegerInput_Throws()
    {
        using var scope = TensorScope.Begin();
        Assert.Throws<TorchException>(() => Tensor.From(new long[] { 0, 3 }).OneHot(3));
        Assert.Throws<TorchException>(() => Tensor.From(new[] { 0f }).OneHot(3));
    }
}
