using System.Collections;
using TorchSharp;
using UNet.Segmentation.Distributed;
using UNet.Segmentation.Distributed.Mpi;
using UNet.Segmentation.Model;
using UNet.Segmentation.Training;
using static TorchSharp.torch;

namespace UNet.Segmentation.Tests.Distributed;

/// <summary>The data-parallel pieces that need no second process: options, buckets, watchdog, library checks, resume arithmetic.</summary>
public sealed class DataParallelPartsTests
{
    [Fact]
    public void TheTimeoutComesFromTheEnvironment_AndABadValueIsNamed()
    {
        Assert.Equal(TimeSpan.FromMinutes(10), DataParallelOptions.FromEnvironment(new Hashtable()).Timeout);
        Assert.Equal(TimeSpan.FromSeconds(12.5), DataParallelOptions.FromEnvironment(new Hashtable { [DataParallelOptions.TimeoutVariable] = "12.5" }).Timeout);
        foreach (var bad in new[] { "-3", "0", "soon", "NaN", "1e9" })
        {
            var e = Assert.Throws<ArgumentException>(() => DataParallelOptions.FromEnvironment(new Hashtable { [DataParallelOptions.TimeoutVariable] = bad }));
            Assert.Equal(DataParallelOptions.TimeoutVariable, e.ParamName);
            Assert.Contains($"(got '{bad}')", e.Message);
        }
    }

    [Fact]
    public void BadDataParallelOptionsAreListedByTheBuilder()
    {
        using var model = new UNetModel(UNetOptions.Reference with { BaseFilters = 2, Depth = 1, InputSize = 92 });
        var options = new TrainerOptions { DataParallel = new DataParallelOptions { Timeout = TimeSpan.Zero, BucketBytes = 0 } };
        var e = Assert.Throws<OptionsValidationException>(() => Trainer.For(model).WithOptions(options).Build());
        Assert.Contains("DataParallel.Timeout must be positive", e.Message);
        Assert.Contains("DataParallel.BucketBytes must be at least 4", e.Message);
    }

    [Fact]
    public void ALaunchIsRecognisedByTheLaunchersVariables()
    {
        Assert.False(MpiWorld.IsLaunchedByMpi(new Hashtable()));
        Assert.True(MpiWorld.IsLaunchedByMpi(new Hashtable { ["OMPI_COMM_WORLD_SIZE"] = "2" }));
        Assert.True(MpiWorld.IsLaunchedByMpi(new Hashtable { ["PMIX_RANK"] = "0" }));
        Assert.True(MpiWorld.IsLaunchedByMpi(new Hashtable { ["PMI_RANK"] = "3" }));
        Assert.Equal(2, MpiWorld.LocalRankFrom(new Hashtable { ["OMPI_COMM_WORLD_LOCAL_RANK"] = "2", ["SLURM_LOCALID"] = "5" }));
        Assert.Equal(5, MpiWorld.LocalRankFrom(new Hashtable { ["SLURM_LOCALID"] = "5" }));
        Assert.Null(MpiWorld.LocalRankFrom(new Hashtable { ["OMPI_COMM_WORLD_LOCAL_RANK"] = "x" }));
    }

    [Fact]
    public void ALibraryThatIsNotOpenMpiIsRefusedByName()
    {
        string? before = Environment.GetEnvironmentVariable(MpiLibrary.PathVariable);
        try
        {
            Environment.SetEnvironmentVariable(MpiLibrary.PathVariable, "libc.so.6");
            var e = Assert.Throws<CommunicationLibraryException>(MpiLibrary.Load);
            Assert.StartsWith("libc.so.6 is not Open MPI (it exports no ompi_mpi_comm_world); MPICH, Intel MPI and MVAPICH use integer handles", e.Message);
            Environment.SetEnvironmentVariable(MpiLibrary.PathVariable, "/nonexistent/libmpi.so.40");
            e = Assert.Throws<CommunicationLibraryException>(MpiLibrary.Load);
            Assert.StartsWith("MPI is not available: could not load /nonexistent/libmpi.so.40.", e.Message);
        }
        finally
        {
            Environment.SetEnvironmentVariable(MpiLibrary.PathVariable, before);
        }
    }

    [Fact]
    public void BucketsHoldEveryGradientOnce_LastLayersFirst_AndCopyBackScaled()
    {
        using var scope = NewDisposeScope();
        manual_seed(1);
        var parameters = new[] { new[] { 3L, 4 }, [10], [2, 2, 2], [7] }
            .Select(shape => new TorchSharp.Modules.Parameter(randn(shape))).ToList();
        foreach (var p in parameters) p.grad = randn(p.shape);
        var original = parameters.Select(p => p.grad!.clone()).ToList();
        // 40 bytes per bucket: [7] + [2,2,2] = 15 floats (60 B) fill the first, [10] the second, [3,4] the third.
        using var buckets = new GradientBuckets(parameters, 40, CPU);
        Assert.Equal(3, buckets.Count);
        Assert.Equal([15L, 10, 12], Enumerable.Range(0, 3).Select(i => buckets.Buffer(i).numel()));
        for (int i = 0; i < buckets.Count; i++) buckets.Gather(i);
        Assert.True(buckets.Buffer(0).Equals(cat([original[3], original[2].reshape(-1)], 0)));
        Assert.True(buckets.Buffer(2).Equals(original[0].reshape(-1)));
        for (int i = 0; i < buckets.Count; i++) buckets.Scatter(i, 0.5);
        for (int i = 0; i < parameters.Count; i++)
            Assert.True(parameters[i].grad!.allclose(original[i] * 0.5), $"parameter {i} did not come back halved");
    }

    [Fact]
    public void BucketsRefuseAParameterWithoutAGradient()
    {
        using var scope = NewDisposeScope();
        var parameters = new List<TorchSharp.Modules.Parameter> { new(zeros(3)) };
        using var buckets = new GradientBuckets(parameters, 1 << 20, CPU);
        var e = Assert.Throws<InvalidOperationException>(() => buckets.Gather(0));
        Assert.Contains("has no gradient", e.Message);
    }

    [Fact]
    public void TheWatchdogReportsAndAbortsACollectiveThatOutlivesTheTimeout_AndNotOneThatFinishes()
    {
        var reports = new List<string>();
        using var aborted = new ManualResetEventSlim();
        using (var watchdog = new CollectiveWatchdog(1, 4, TimeSpan.FromMilliseconds(300), m => { lock (reports) reports.Add(m); }, aborted.Set))
        {
            using (watchdog.Enter("all-reduce of gradient bucket 2 of 3", 17)) Thread.Sleep(50);
            Thread.Sleep(500); // nothing in flight: no report
            Assert.Empty(reports);
            using (watchdog.Enter("all-reduce of gradient bucket 2 of 3", 17))
                Assert.True(aborted.Wait(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken), "the watchdog did not abort");
        }
        Assert.Equal(["rank 1 of 4: all-reduce of gradient bucket 2 of 3 at step 17 did not complete within 0.3 s: another rank is hung, dead or slower than the timeout allows (UNET_DIST_TIMEOUT_SECONDS); aborting the job"], reports);
    }

    [Fact]
    public void TheWatchdogAbortsWhenItsPollFindsAnError()
    {
        string? report = null;
        using var aborted = new ManualResetEventSlim();
        using var watchdog = new CollectiveWatchdog(0, 2, TimeSpan.FromMinutes(5), m => report = m, aborted.Set,
            poll: () => throw new DistributedException("NCCL remote error", 0, "ncclCommGetAsyncError"));
        using (watchdog.Enter("broadcast of the weights", null))
            Assert.True(aborted.Wait(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken), "the watchdog did not abort");
        Assert.Equal("rank 0 of 2: broadcast of the weights failed: NCCL remote error; aborting the job", report);
    }

    [Theory]
    [InlineData(2, 1, 8, 9, 16, 18)]
    [InlineData(1, 2, 9, 9, 4, 4)]
    [InlineData(4, 3, 10, 11, 13, 14)]
    [InlineData(2, 2, 5, 6, 5, 6)]
    public void AResumeAtAnotherWorldSizeKeepsTheSamplesSeen(int from, int to, long step, long next, long expectedStep, long expectedNext)
    {
        var state = new CheckpointState(step, next, new LossScalerState(1, 0, 0), 0, from).AtWorldSize(to);
        Assert.Equal((expectedStep, expectedNext, to), (state.Step, state.NextBatch, state.WorldSize));
    }
}
