using UNet.Segmentation.Torch.Distributed;

namespace UNet.Segmentation.Torch.Tests.Distributed;

/// <summary>Process groups inside one test process: two Gloo ranks on two threads over a file store.</summary>
public sealed class ProcessGroupTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly string _dir = Directory.CreateTempSubdirectory("uts-pg-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Runs <paramref name="body"/> as ranks 0 and 1 at once and returns their results.</summary>
    private T[] TwoRanks<T>(Func<ProcessGroup, T> body)
    {
        string path = Path.Combine(_dir, "store");
        var tasks = Enumerable.Range(0, 2).Select(rank => Task.Factory.StartNew(() =>
        {
            using var store = Store.File(path, 2, Timeout);
            using var group = ProcessGroup.Create(store, Backend.Gloo, rank, 2, Timeout);
            using var scope = TensorScope.Begin();
            return body(group);
        }, TaskCreationOptions.LongRunning)).ToArray();
        Assert.True(Task.WaitAll(tasks, TimeSpan.FromMinutes(1)), "the ranks did not finish");
        return tasks.Select(t => t.Result).ToArray();
    }

    [Fact]
    public void AllReduceMeanAveragesEveryTensorAcrossBuckets()
    {
        // 16-byte buckets split the float tensors over several collectives; the float64 one is a bucket of its own dtype.
        var results = TwoRanks(g =>
        {
            var a = Tensor.From(new float[] { 1, 2, 3, 4, 5 }).Mul(g.Rank + 1.0);
            var b = Tensor.From(new double[] { 10, 20 }).Add(g.Rank * 2.0);
            var c = Tensor.From(new float[] { 1, 2, 3, 4, 5, 6 }).Reshape(2, 3).Mul(g.Rank == 0 ? 0.0 : 2.0);
            g.AllReduceMean([a, b, c], bucketBytes: 16);
            return (a.ToArray<float>(), b.ToArray<double>(), c.ToArray<float>());
        });
        foreach (var (a, b, c) in results)
        {
            Assert.Equal(new float[] { 1.5f, 3, 4.5f, 6, 7.5f }, a);
            Assert.Equal(new double[] { 11, 21 }, b);
            Assert.Equal(new float[] { 1, 2, 3, 4, 5, 6 }, c);
        }
    }

    [Fact]
    public void GradientsAreAveragedAndBroadcastCopiesRootsParameters()
    {
        var results = TwoRanks(g =>
        {
            var w = Tensor.From(new float[] { 1, 2, 3 }).Mul(g.Rank + 1.0).Detach().RequiresGrad_();
            w.Mul(w).Sum().Backward(); // grad = 2w: rank 0 (2, 4, 6), rank 1 (4, 8, 12)
            g.AllReduceGradientsMean([w]);
            var grad = w.Grad!.ToArray<float>();
            g.Broadcast([w], root: 1);
            g.Barrier();
            return (grad, w.ToArray<float>(), w.RequiresGrad);
        });
        foreach (var (grad, w, requiresGrad) in results)
        {
            Assert.Equal(new float[] { 3, 6, 9 }, grad);
            Assert.Equal(new float[] { 2, 4, 6 }, w);
            Assert.True(requiresGrad);
        }
    }

    [Fact]
    public void NcclOnACpuBuildIsATypedError()
    {
        if (ProcessGroup.IsAvailable(Backend.Nccl))
        {
            Console.WriteLine("skipped in effect: this shim was built with NCCL, so there is no error to check");
            return;
        }
        using var store = Store.File(Path.Combine(_dir, "nccl"), 1, Timeout);
        var e = Assert.Throws<DistributedBackendUnavailableException>(() => ProcessGroup.Create(store, Backend.Nccl, 0, 1, Timeout));
        Assert.Contains("NCCL backend is not compiled into this native shim", e.Message);
        Assert.Equal(TorchErrorKind.Unsupported, e.Kind);
    }

    [Fact]
    public void BadArgumentsAreRejectedAndNothingLeaks()
    {
        long before = ProcessGroup.LiveNativeObjects;
        using (var store = Store.File(Path.Combine(_dir, "one"), 1, Timeout))
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => ProcessGroup.Create(store, Backend.Gloo, 1, 1, Timeout));
            Assert.Throws<ArgumentOutOfRangeException>(() => ProcessGroup.Create(store, Backend.Gloo, 0, 1, TimeSpan.Zero));
            using var group = ProcessGroup.Create(store, Backend.Gloo, 0, 1, Timeout);
            using var scope = TensorScope.Begin();
            var ints = Tensor.From(new long[] { 1, 2 });
            var e = Assert.Throws<TorchException>(() => group.AllReduceMean([ints]));
            Assert.Equal(TorchErrorKind.InvalidArgument, e.Kind);
            Assert.Contains("floating-point", e.Message);
            Assert.Throws<ArgumentOutOfRangeException>(() => group.Broadcast([ints], root: 1));
            group.Broadcast([ints]); // any dtype broadcasts
            store.Set("greeting", "hello");
            Assert.Equal("hello", store.GetString("greeting"));
            Assert.Equal(before + 2, ProcessGroup.LiveNativeObjects);
        }
        Assert.Equal(before, ProcessGroup.LiveNativeObjects);
    }

    [Fact]
    public void ARankThatNeverJoinsIsNamedAfterTheTimeout()
    {
        using var store = Store.File(Path.Combine(_dir, "lonely"), 2, TimeSpan.FromSeconds(1));
        var e = Assert.Throws<DistributedException>(() => ProcessGroup.Create(store, Backend.Gloo, 0, 2, TimeSpan.FromSeconds(1)));
        Assert.Contains("rank 0 of 2", e.Message);
        Assert.Contains("ranks that never joined: 1", e.Message);
        Assert.Equal(TorchErrorKind.Distributed, e.Kind);
    }

    [Fact]
    public void AClientWithoutAServerTimesOutNamingTheStore()
    {
        int port = 20000 + Environment.ProcessId % 20000 + 7;
        var e = Assert.Throws<DistributedException>(() => Store.Tcp("127.0.0.1", port, isServer: false, worldSize: 2, TimeSpan.FromSeconds(1)));
        Assert.Contains($"rendezvous at tcp://127.0.0.1:{port} (as a client) failed", e.Message);
    }
}
