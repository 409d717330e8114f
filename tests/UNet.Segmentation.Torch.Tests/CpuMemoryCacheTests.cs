namespace UNet.Segmentation.Torch.Tests;

/// <summary>
/// The shim's caching CPU allocator: freed large blocks are kept and reused, data in reused blocks
/// is what the op wrote, turning caching off or releasing gives the memory back, and the limit
/// holds. Runs unparallelised (xunit.runner.json), so the counters move only with this test.
/// </summary>
public class CpuMemoryCacheTests : IDisposable
{
    // 5 MiB + 3 floats: an odd size no other test allocates, rounded up to a 6 MiB block.
    private const long Elements = (5 << 20) / 4 + 3;
    private readonly long _limit = CpuMemoryCache.LimitBytes;

    public CpuMemoryCacheTests() => CpuMemoryCache.Configure(enabled: true);

    public void Dispose() => CpuMemoryCache.Configure(enabled: true, _limit);

    [Fact]
    public void OnByDefault_WithALimit()
    {
        Assert.True(CpuMemoryCache.Enabled);
        Assert.True(CpuMemoryCache.LimitBytes > 0);
    }

    [Fact]
    public void AFreedLargeBlock_IsReusedForTheNextRequestOfItsSize()
    {
        CpuMemoryCache.Release();
        Tensor.Ones([Elements]).Dispose();
        long cached = CpuMemoryCache.CachedBytes, hits = CpuMemoryCache.Hits;
        Assert.InRange(cached, Elements * 4, Elements * 4 + (2 << 20));

        using var again = Tensor.Zeros([Elements]);
        Assert.Equal(hits + 1, CpuMemoryCache.Hits);
        Assert.Equal(0, CpuMemoryCache.CachedBytes);
        // The reused block held ones; zeros must have overwritten every element.
        Assert.Equal(0.0, again.Abs().Sum().ToDouble());
    }

    [Fact]
    public void SmallBlocks_AreNotCached()
    {
        CpuMemoryCache.Release();
        long misses = CpuMemoryCache.Misses;
        Tensor.Ones([1000]).Dispose();
        Assert.Equal(0, CpuMemoryCache.CachedBytes);
        Assert.Equal(misses, CpuMemoryCache.Misses);
    }

    [Fact]
    public void TurningCachingOff_ReleasesTheCacheAndKeepsNothing()
    {
        Tensor.Ones([Elements]).Dispose();
        Assert.True(CpuMemoryCache.CachedBytes > 0);
        CpuMemoryCache.Configure(enabled: false);
        Assert.False(CpuMemoryCache.Enabled);
        Assert.Equal(0, CpuMemoryCache.CachedBytes);
        Tensor.Ones([Elements]).Dispose();
        Assert.Equal(0, CpuMemoryCache.CachedBytes);
    }

    [Fact]
    public void TheLimit_CapsWhatIsKept()
    {
        CpuMemoryCache.Release();
        CpuMemoryCache.Configure(enabled: true, limitBytes: 8 << 20);
        var a = Tensor.Ones([Elements]);
        var b = Tensor.Ones([Elements]);
        a.Dispose();
        b.Dispose(); // the second 6 MiB block would pass the 8 MiB limit
        Assert.InRange(CpuMemoryCache.CachedBytes, 1, 8 << 20);
    }

    [Fact]
    public void Release_EmptiesTheCache()
    {
        Tensor.Ones([Elements]).Dispose();
        CpuMemoryCache.Release();
        Assert.Equal(0, CpuMemoryCache.CachedBytes);
    }

    [Fact]
    public void ANegativeLimit_IsRejected()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => CpuMemoryCache.Configure(true, -1));
        Assert.Equal("limitBytes", e.ParamName);
    }

    [Fact]
    public void TrainingThroughTheCache_GivesTheSameNumbersAsWithout()
    {
        // A conv + backward with blocks large enough to be cached, run with caching off and on:
        // the gradients must agree bitwise (reuse must never leak old contents into results).
        double Run()
        {
            using var scope = TensorScope.Begin();
            LibTorch.ManualSeed(3);
            var x = Tensor.Randn([2, 8, 160, 160]);
            var w = Tensor.Randn([8, 8, 3, 3]).RequiresGrad_();
            for (int i = 0; i < 3; i++) Functional.Conv2d(x, w).Relu().Sum().Backward();
            return w.Grad!.Abs().Sum().ToDouble();
        }
        CpuMemoryCache.Configure(enabled: false);
        double plain = Run();
        CpuMemoryCache.Configure(enabled: true);
        Run();
        Assert.Equal(plain, Run());
        Assert.True(CpuMemoryCache.Hits > 0);
    }
}
