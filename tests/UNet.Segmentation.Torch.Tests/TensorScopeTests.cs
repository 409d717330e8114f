using System.Runtime.CompilerServices;

namespace UNet.Segmentation.Torch.Tests;

[Collection("LiveTensors")]
public class TensorScopeTests
{
    [Fact]
    public void TensorsMadeInAScope_AreDisposedAtItsEnd_AndTheLiveCountReturnsToBaseline()
    {
        Assert.Null(TensorScope.Current);
        LiveTensors.Settle();
        long baseline = LibTorch.LiveTensorCount;
        Tensor a, b, c;
        using (var scope = TensorScope.Begin())
        {
            Assert.Same(scope, TensorScope.Current);
            a = Tensor.Ones([3]);
            b = a * 2 + 1;             // a temporary and the result
            c = b.Sum();
            Assert.Equal(9.0, c.ToDouble());
            Assert.Equal(4, scope.Count);
            Assert.Equal(baseline + 4, LibTorch.LiveTensorCount);
        }
        Assert.Null(TensorScope.Current);
        Assert.True(a.IsDisposed);
        Assert.True(b.IsDisposed);
        Assert.True(c.IsDisposed);
        Assert.Equal(baseline, LibTorch.LiveTensorCount);
    }

    [Fact]
    public void TensorsMadeWithoutAScope_AreNotTracked()
    {
        Assert.Null(TensorScope.Current);
        LiveTensors.Settle();
        long baseline = LibTorch.LiveTensorCount;
        var t = Tensor.Zeros([2]);
        using (TensorScope.Begin()) { }
        Assert.False(t.IsDisposed);
        Assert.Equal(baseline + 1, LibTorch.LiveTensorCount);
        t.Dispose();
        Assert.Equal(baseline, LibTorch.LiveTensorCount);
    }

    [Fact]
    public void DisposingATensorEarly_IsNotADoubleFree()
    {
        LiveTensors.Settle();
        long baseline = LibTorch.LiveTensorCount;
        using (var scope = TensorScope.Begin())
        {
            var t = Tensor.Zeros([2]);
            var u = Tensor.Zeros([2]);
            t.Dispose();
            Assert.Equal(1, scope.Count);
            Assert.Equal(baseline + 1, LibTorch.LiveTensorCount);
            Assert.False(u.IsDisposed);
        }
        Assert.Equal(baseline, LibTorch.LiveTensorCount);
    }

    [Fact]
    public void MoveToOuter_KeepsTheTensorAlive_AndTheParentDisposesIt()
    {
        LiveTensors.Settle();
        long baseline = LibTorch.LiveTensorCount;
        Tensor kept, temp;
        using (var outer = TensorScope.Begin())
        {
            using (var inner = TensorScope.Begin())
            {
                temp = Tensor.Ones([2]);
                kept = inner.MoveToOuter(temp * 3);
                Assert.Equal(1, inner.Count);
                Assert.Equal(1, outer.Count);
            }
            Assert.True(temp.IsDisposed);
            Assert.False(kept.IsDisposed);
            Assert.Equal(new float[] { 3, 3 }, kept.ToArray<float>());
            Assert.Same(outer, TensorScope.Current);
            Assert.Equal(baseline + 1, LibTorch.LiveTensorCount);
        }
        Assert.True(kept.IsDisposed);
        Assert.Equal(baseline, LibTorch.LiveTensorCount);
    }

    [Fact]
    public void MoveToOuter_FromTheOutermostScope_HandsTheTensorToTheCaller()
    {
        LiveTensors.Settle();
        long baseline = LibTorch.LiveTensorCount;
        Tensor kept;
        using (var scope = TensorScope.Begin())
            kept = scope.MoveToOuter(Tensor.Ones([2]));
        Assert.False(kept.IsDisposed);
        Assert.Equal(baseline + 1, LibTorch.LiveTensorCount);
        kept.Dispose();
        Assert.Equal(baseline, LibTorch.LiveTensorCount);
    }

    [Fact]
    public void TensorMoveToOuterScope_MovesOneLevel()
    {
        Tensor kept;
        using (var outer = TensorScope.Begin())
        {
            using (TensorScope.Begin())
                kept = Tensor.Ones([1]).MoveToOuterScope();
            Assert.False(kept.IsDisposed);
            Assert.Equal(1, outer.Count);
        }
        Assert.True(kept.IsDisposed);

        // Without a scope it is a no-op that returns the tensor.
        var free = Tensor.Ones([1]);
        Assert.Same(free, free.MoveToOuterScope());
        free.Dispose();
    }

    [Fact]
    public void MoveToOuter_OfATensorTheScopeDoesNotOwn_Throws()
    {
        using var outer = TensorScope.Begin();
        var mine = Tensor.Ones([1]);
        using var inner = TensorScope.Begin();
        var e = Assert.Throws<ArgumentException>(() => inner.MoveToOuter(mine));
        Assert.Equal("tensor", e.ParamName);
        Assert.Throws<ArgumentNullException>(() => inner.MoveToOuter<Tensor>(null!));
    }

    [Fact]
    public void DetachFromScope_LeavesTheTensorToTheCaller()
    {
        LiveTensors.Settle();
        long baseline = LibTorch.LiveTensorCount;
        Tensor detached;
        using (var outer = TensorScope.Begin())
        {
            using (var scope = TensorScope.Begin())
            {
                detached = Tensor.Ones([2]).DetachFromScope();
                Assert.Equal(0, scope.Count);
            }
            Assert.Equal(0, outer.Count);
        }
        Assert.False(detached.IsDisposed);
        Assert.Equal(baseline + 1, LibTorch.LiveTensorCount);
        detached.Dispose();
        Assert.Equal(baseline, LibTorch.LiveTensorCount);
    }

    [Fact]
    public void NestedScopes_DisposeInnermostFirst_OutOfOrderThrows()
    {
        var outer = TensorScope.Begin();
        var a = Tensor.Ones([1]);
        var inner = TensorScope.Begin();
        var b = Tensor.Ones([1]);
        try
        {
            Assert.Throws<InvalidOperationException>(() => outer.Dispose());
            Assert.False(a.IsDisposed);
            Assert.False(b.IsDisposed);
            Assert.Same(inner, TensorScope.Current);
        }
        finally
        {
            inner.Dispose();
            Assert.True(b.IsDisposed);
            Assert.False(a.IsDisposed);
            Assert.Same(outer, TensorScope.Current);
            outer.Dispose();
        }
        Assert.True(a.IsDisposed);
        Assert.Null(TensorScope.Current);
        // A second Dispose is a no-op.
        inner.Dispose();
        outer.Dispose();
        Assert.Null(TensorScope.Current);
    }

    [Fact]
    public void DisposingAScopeOnAnotherThread_Throws()
    {
        var scope = TensorScope.Begin();
        var t = Tensor.Ones([1]);
        try
        {
            Exception? seen = null;
            var thread = new Thread(() =>
            {
                try { scope.Dispose(); }
                catch (Exception e) { seen = e; }
            });
            thread.Start();
            thread.Join();
            Assert.IsType<InvalidOperationException>(seen);
            Assert.False(t.IsDisposed);
        }
        finally
        {
            scope.Dispose();
        }
        Assert.True(t.IsDisposed);
    }

    [Fact]
    public void Scopes_ArePerThread()
    {
        using var scope = TensorScope.Begin();
        Tensor? other = null;
        TensorScope? otherCurrent = scope;
        var thread = new Thread(() =>
        {
            otherCurrent = TensorScope.Current;
            other = Tensor.Ones([1]);
        });
        thread.Start();
        thread.Join();
        Assert.Null(otherCurrent);
        Assert.Equal(0, scope.Count);
        Assert.NotNull(other);
        other!.Dispose();
    }

    [Fact]
    public void GradGetter_ReturnsAHandleOwnedByTheCurrentScope()
    {
        LiveTensors.Settle();
        long baseline = LibTorch.LiveTensorCount;
        var x = Tensor.Ones([2]).RequiresGrad_();
        using (var scope = TensorScope.Begin())
        {
            x.Sum().Backward();
            var g = x.Grad;
            Assert.NotNull(g);
            Assert.Equal(2, scope.Count); // the sum and the grad handle
        }
        Assert.Equal(baseline + 1, LibTorch.LiveTensorCount);
        x.Dispose();
        Assert.Equal(baseline, LibTorch.LiveTensorCount);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void MakeGarbage(int count)
    {
        Assert.Null(TensorScope.Current);
        for (int i = 0; i < count; i++)
        {
            var t = Tensor.Ones([8]);
            Assert.False(t.IsDisposed);
        }
    }

    [Fact]
    public void FinalizedTensors_AreFreedByFreeDeferred_OnTheCallingThread()
    {
        LiveTensors.Settle();
        long baseline = LibTorch.LiveTensorCount;
        MakeGarbage(5);
        Assert.Equal(baseline + 5, LibTorch.LiveTensorCount);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        // The finalizer only queued the handles: nothing was freed on the finalizer thread.
        Assert.Equal(baseline + 5, LibTorch.LiveTensorCount);
        int freed = LibTorch.FreeDeferred();
        Assert.True(freed >= 5, $"freed {freed}");
        Assert.Equal(baseline, LibTorch.LiveTensorCount);
        Assert.Equal(0, LibTorch.FreeDeferred());
    }

    [Fact]
    public void FinalizedTensors_AreFreedWhenTheNextTensorIsCreated()
    {
        LiveTensors.Settle();
        long baseline = LibTorch.LiveTensorCount;
        MakeGarbage(3);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Assert.Equal(baseline + 3, LibTorch.LiveTensorCount);
        var t = Tensor.Zeros([1]);
        Assert.Equal(baseline + 1, LibTorch.LiveTensorCount);
        t.Dispose();
        Assert.Equal(baseline, LibTorch.LiveTensorCount);
    }

    [Fact]
    public void ScopedLoop_DoesNotGrowTheLiveCount()
    {
        LiveTensors.Settle();
        long baseline = LibTorch.LiveTensorCount;
        using var outer = TensorScope.Begin();
        var w = Tensor.Randn([4, 4]);
        long withW = LibTorch.LiveTensorCount;
        for (int i = 0; i < 200; i++)
        {
            using var step = TensorScope.Begin();
            var y = w.MatMul(w).Relu().Sum([1]).Softmax(0);
            Assert.Equal(4, y.NumberOfElements);
        }
        Assert.Equal(withW, LibTorch.LiveTensorCount);
        Assert.Equal(baseline + 1, withW);
    }
}
