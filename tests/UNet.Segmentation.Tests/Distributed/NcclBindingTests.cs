using System.Runtime.InteropServices;
using UNet.Segmentation.Distributed;
using UNet.Segmentation.Distributed.Nccl;
using UNet.Segmentation.Tests.Imaging;
using UNet.Segmentation.Tests.Shared;

namespace UNet.Segmentation.Tests.Distributed;

/// <summary>
/// The NCCL binding's marshalling, end to end without a GPU: a stand-in libnccl
/// (FakeNccl/fake_nccl.c, compiled with gcc when the tests start) records what it is called with.
/// </summary>
public sealed class NcclBindingTests(FakeNccl fake, ITestOutputHelper output) : IClassFixture<FakeNccl>
{
    private static readonly byte[] IdPattern = Enumerable.Range(0, 128).Select(i => (byte)(i * 7 + 3)).ToArray();
    private static readonly nint Nowhere = unchecked((nint)0x7f00dead1000);
    private static readonly Func<CudaRuntime> NoCudaRuntime = () => throw new InvalidOperationException("libcudart must not be needed without a device");

    [Fact]
    public unsafe void NcclTypes_MatchNcclH()
    {
        Assert.Equal(128, Marshal.SizeOf<NcclUniqueId>());
        Assert.Equal(128, sizeof(NcclUniqueId));
        Assert.Equal([0, 1, 2, 3, 4, 5, 6, 7], new[]
        {
            NcclResult.Success, NcclResult.UnhandledCudaError, NcclResult.SystemError, NcclResult.InternalError,
            NcclResult.InvalidArgument, NcclResult.InvalidUsage, NcclResult.RemoteError, NcclResult.InProgress,
        }.Select(r => (int)r));
        Assert.Equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], new[]
        {
            NcclDataType.Int8, NcclDataType.Uint8, NcclDataType.Int32, NcclDataType.Uint32, NcclDataType.Int64,
            NcclDataType.Uint64, NcclDataType.Float16, NcclDataType.Float32, NcclDataType.Float64, NcclDataType.Bfloat16,
        }.Select(t => (int)t));
        Assert.Equal([0, 1, 2, 3, 4], new[] { NcclReduction.Sum, NcclReduction.Prod, NcclReduction.Max, NcclReduction.Min, NcclReduction.Avg }.Select(o => (int)o));
        Assert.Equal("ncclRemoteError", NcclLibrary.Name(NcclResult.RemoteError));
        Assert.Equal("2.21.5", NcclLibrary.VersionText(22105));
        Assert.Equal("2.8.4", NcclLibrary.VersionText(2804));
    }

    [Fact]
    public void UnusableLibraries_AreRefusedNamingWhatWasTriedAndWhereItComesFrom()
    {
        string missing = Path.Combine(Path.GetTempPath(), $"no-such-dir-{Guid.NewGuid():N}", "libnccl.so.2");
        var nccl = WithVariable(NcclLibrary.PathVariable, missing,
            () => Assert.Throws<CommunicationLibraryException>(() => NcclCommunicator.Create(0, 1, _ => { }, cudaDevice: null)));
        output.WriteLine(nccl.Message);
        Assert.Contains("NCCL is not available", nccl.Message);
        Assert.Contains(missing, nccl.Message);
        Assert.Contains("libnccl2", nccl.Message);
        Assert.Contains("nvidia-nccl-cu12", nccl.Message);
        Assert.Contains(NcclLibrary.PathVariable, nccl.Message);

        string missingCuda = Path.Combine(Path.GetDirectoryName(missing)!, "libcudart.so.12");
        var cuda = WithVariable(CudaRuntime.PathVariable, missingCuda, () => Assert.Throws<CommunicationLibraryException>(() => CudaRuntime.Load()));
        output.WriteLine(cuda.Message);
        Assert.Contains(missingCuda, cuda.Message);
        Assert.Contains(CudaRuntime.PathVariable, cuda.Message);

        fake.Require();
        var old = Assert.Throws<CommunicationLibraryException>(() => NcclLibrary.Load(fake.OldPath));
        output.WriteLine(old.Message);
        Assert.Contains("2.8.4", old.Message);
        Assert.Contains("ncclAvg", old.Message);
        Assert.Contains("2.10.0", old.Message);
    }

    [Fact]
    public void RankZero_HandsItsUniqueIdThroughTheBroadcastToInitRankByValue_OnTheDeviceSetFirst()
    {
        fake.Require();
        fake.Reset();
        byte[]? broadcast = null;
        using (var comm = NcclCommunicator.Create(fake.Library, () => fake.Cuda, 0, 1, id => broadcast = id.ToArray(), cudaDevice: 3))
        {
            Assert.Equal(IdPattern, broadcast);
            Assert.Equal(1, fake.Int("fake_unique_id_calls"));
            Assert.Equal((0, 1), (fake.Int("fake_init_rank"), fake.Int("fake_init_nranks")));
            Assert.Equal(3, fake.Int("fake_init_device"));
            Assert.Equal((0, 1, 3, "2.21.5"), (comm.Rank, comm.Size, comm.CudaDevice, comm.Version));
        }

        fake.Reset();
        var e = Assert.Throws<DistributedException>(() => NcclCommunicator.Create(fake.Library, () => fake.Cuda, 0, 1, _ => { }, cudaDevice: 9));
        output.WriteLine(e.Message);
        Assert.Contains("cudaSetDevice(9)", e.Message);
        Assert.Contains("invalid device ordinal", e.Message);
        Assert.Equal(0, fake.Int("fake_init_calls"));
    }

    [Fact]
    public void OtherRanks_JoinWithTheIdTheBroadcastDelivers_AndNcclRefusesAnyOther()
    {
        fake.Require();
        fake.Reset();
        using (var comm = NcclCommunicator.Create(fake.Library, NoCudaRuntime, 1, 2, id =>
               {
                   Assert.All(id, b => Assert.Equal(0, b));
                   IdPattern.CopyTo(id, 0);
               }, cudaDevice: null))
        {
            Assert.Equal(0, fake.Int("fake_unique_id_calls"));
            Assert.Equal((1, 2), (fake.Int("fake_init_rank"), fake.Int("fake_init_nranks")));
            Assert.Null(comm.CudaDevice);
        }

        var e = Assert.Throws<DistributedException>(() => NcclCommunicator.Create(fake.Library, NoCudaRuntime, 1, 2, _ => { }, cudaDevice: null));
        output.WriteLine(e.Message);
        Assert.Equal(1, e.Rank);
        Assert.StartsWith("rank 1: NCCL ncclCommInitRank", e.Message);
        Assert.Contains("invalid argument", e.Message);
        Assert.Contains("ncclResult 4, ncclInvalidArgument", e.Message);

        Assert.Equal("rank", Assert.Throws<ArgumentOutOfRangeException>(() => NcclCommunicator.Create(fake.Library, NoCudaRuntime, 2, 2, _ => { }, null)).ParamName);
        Assert.Equal("size", Assert.Throws<ArgumentOutOfRangeException>(() => NcclCommunicator.Create(fake.Library, NoCudaRuntime, 0, 0, _ => { }, null)).ParamName);
    }

    [Fact]
    public unsafe void Collectives_AreInPlace_WithA64BitCount_Float32Average_OnTheDefaultStream()
    {
        fake.Require();
        var comm = CreateRankZero();
        long huge = (1L << 32) + 5;
        comm.AllReduceAverageFloat32(Nowhere, huge, "gradients");
        Assert.Equal((nuint)huge, fake.Size("fake_last_count"));
        Assert.Equal((7, 4), (fake.Int("fake_last_datatype"), fake.Int("fake_last_op")));
        Assert.Equal((Nowhere, Nowhere, (nint)0), (fake.Pointer("fake_last_send"), fake.Pointer("fake_last_recv"), fake.Pointer("fake_last_stream")));

        float[] values = [1, 2, 3];
        fixed (float* p = values)
        {
            comm.AllReduceMaxFloat32((nint)p, values.Length, "loss");
            Assert.Equal(((nint)p, (nint)p, (nuint)3), (fake.Pointer("fake_last_send"), fake.Pointer("fake_last_recv"), fake.Size("fake_last_count")));
            Assert.Equal((7, 2), (fake.Int("fake_last_datatype"), fake.Int("fake_last_op")));
        }

        comm.Broadcast(Nowhere + 8, huge, 0, "weights");
        Assert.Equal((1, 0, (nuint)huge), (fake.Int("fake_last_datatype"), fake.Int("fake_last_root"), fake.Size("fake_last_count")));
        Assert.Equal((Nowhere + 8, Nowhere + 8, (nint)0), (fake.Pointer("fake_last_send"), fake.Pointer("fake_last_recv"), fake.Pointer("fake_last_stream")));
        Assert.Equal("root", Assert.Throws<ArgumentOutOfRangeException>(() => comm.Broadcast(Nowhere, 1, 1, "weights")).ParamName);

        comm.Dispose();
        comm.Dispose();
        comm.Abort();
        Assert.Equal((1, 0), (fake.Int("fake_destroy_calls"), fake.Int("fake_abort_calls")));
        Assert.Throws<ObjectDisposedException>(() => comm.AllReduceAverageFloat32(Nowhere, 1, "gradients"));
    }

    [Fact]
    public void NcclErrorCodes_BecomeDistributedExceptionsWithNcclsText()
    {
        fake.Require();
        using var comm = CreateRankZero();
        var e = Assert.Throws<DistributedException>(() => comm.AllReduceAverageFloat32(Nowhere, 12345, "gradient bucket 1 of 2"));
        output.WriteLine(e.Message);
        Assert.Equal(0, e.Rank);
        Assert.Equal("ncclAllReduce of gradient bucket 1 of 2", e.Collective);
        Assert.Equal("rank 0: NCCL ncclAllReduce of gradient bucket 1 of 2 failed: invalid usage (run with NCCL_DEBUG=WARN for details) (ncclResult 5, ncclInvalidUsage)", e.Message);
    }

    [Fact]
    public void AsyncError_AbortsTheCommunicator_WhichThenRefusesCalls_AndIsNotDestroyed()
    {
        fake.Require();
        var comm = CreateRankZero();
        fake.Int("fake_async_error") = (int)NcclResult.InProgress;
        comm.CheckAsyncError();
        Assert.Equal(0, fake.Int("fake_abort_calls"));

        fake.Int("fake_async_error") = (int)NcclResult.RemoteError;
        var e = Assert.Throws<DistributedException>(comm.CheckAsyncError);
        output.WriteLine(e.Message);
        Assert.StartsWith("rank 0: ", e.Message);
        Assert.Contains("remote process exited or there was a network error (ncclResult 6, ncclRemoteError)", e.Message);
        Assert.Contains("aborted", e.Message);
        Assert.Equal(1, fake.Int("fake_abort_calls"));

        Assert.Contains("aborted", Assert.Throws<DistributedException>(() => comm.AllReduceAverageFloat32(Nowhere, 1, "gradients")).Message);
        Assert.Throws<DistributedException>(comm.CheckAsyncError);
        comm.Abort();
        comm.Dispose();
        Assert.Equal((1, 0), (fake.Int("fake_abort_calls"), fake.Int("fake_destroy_calls")));
    }

    [Fact]
    public async Task Watchdog_AbortsAHungCollectiveFromAnotherThread()
    {
        fake.Require();
        using var comm = CreateRankZero();
        var collective = OnOwnThread(() => Assert.Throws<DistributedException>(() => comm.AllReduceAverageFloat32(Nowhere, 777, "hung bucket")));
        Assert.True(SpinWait.SpinUntil(() => Volatile.Read(ref fake.Int("fake_hanging")) == 1, TimeSpan.FromSeconds(10)), "the collective never reached NCCL");

        Volatile.Write(ref fake.Int("fake_async_error"), (int)NcclResult.RemoteError);
        var watchdog = OnOwnThread(() => Assert.Throws<DistributedException>(comm.CheckAsyncError));
        var both = Task.WhenAll(collective, watchdog);
        Assert.True(both == await Task.WhenAny(both, Task.Delay(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken)), "the watchdog was blocked behind the collective, or the abort did not end it");
        var (watchdogError, collectiveError) = (await watchdog, await collective);
        output.WriteLine(watchdogError.Message);
        output.WriteLine(collectiveError.Message);
        Assert.Contains("ncclRemoteError", watchdogError.Message);
        Assert.StartsWith("rank 0: NCCL ncclAllReduce of hung bucket failed: remote process exited", collectiveError.Message);
        Assert.Equal((1, 0), (fake.Int("fake_abort_calls"), fake.Int("fake_destroy_calls")));
    }

    private NcclCommunicator CreateRankZero()
    {
        fake.Reset();
        return NcclCommunicator.Create(fake.Library, NoCudaRuntime, 0, 1, _ => { }, cudaDevice: null);
    }

    /// <summary>Runs on a thread of its own, not the pool's (a blocked collective holds its thread).</summary>
    private static Task<T> OnOwnThread<T>(Func<T> action) =>
        Task.Factory.StartNew(action, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private static T WithVariable<T>(string name, string value, Func<T> action)
    {
        string? before = Environment.GetEnvironmentVariable(name);
        Environment.SetEnvironmentVariable(name, value);
        try
        {
            return action();
        }
        finally
        {
            Environment.SetEnvironmentVariable(name, before);
        }
    }
}

/// <summary>
/// FakeNccl/fake_nccl.c compiled with gcc into a temporary folder (once as NCCL 2.21.5, once as
/// 2.8.4) and loaded through the binding's uncached path; its exported variables are read and
/// written through their addresses. Without gcc the tests are reported skipped with the reason,
/// unless CI=true or UNET_REQUIRE_ORACLES=1 makes them fail.
/// </summary>
public sealed unsafe class FakeNccl : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("fake-nccl-").FullName;
    private readonly string? _gccMissing;
    private readonly NcclLibrary? _library;
    private readonly CudaRuntime? _cuda;
    private readonly nint _handle;

    public FakeNccl()
    {
        if (ExternalTools.Find("gcc") is null)
        {
            _gccMissing = "gcc not found on PATH: the stand-in libnccl (tests/UNet.Segmentation.Tests/Distributed/FakeNccl/fake_nccl.c) cannot be built";
            return;
        }
        string source = Path.Combine(RepositoryRoot(), "tests", "UNet.Segmentation.Tests", "Distributed", "FakeNccl", "fake_nccl.c");
        string path = Path.Combine(_folder, "libnccl.so.2");
        Directory.CreateDirectory(Path.GetDirectoryName(OldPath)!);
        Compile(source, path);
        Compile(source, OldPath, "-DFAKE_NCCL_VERSION=2804");
        _library = NcclLibrary.Load(path);
        _cuda = CudaRuntime.Load(path);
        _handle = NativeLibrary.Load(path);
    }

    internal NcclLibrary Library => _library ?? throw new InvalidOperationException(_gccMissing);

    internal CudaRuntime Cuda => _cuda ?? throw new InvalidOperationException(_gccMissing);

    /// <summary>The copy that reports NCCL 2.8.4.</summary>
    public string OldPath => Path.Combine(_folder, "old", "libnccl.so.2");

    /// <summary>Returns when the fake was built; otherwise skips the test with the reason (fails it in CI, or when UNET_REQUIRE_ORACLES=1).</summary>
    public void Require()
    {
        if (_gccMissing is null) return;
        if (Environment.GetEnvironmentVariable("CI") == "true") Assert.Fail(_gccMissing + " (CI=true demands it)");
        Requirement.Skip(_gccMissing, Requirement.Oracles);
    }

    /// <summary>Zeroes what the fake recorded (fake_reset).</summary>
    public void Reset() => ((delegate* unmanaged<void>)Export("fake_reset"))();

    public ref int Int(string name) => ref *(int*)Export(name);

    public nuint Size(string name) => *(nuint*)Export(name);

    public nint Pointer(string name) => *(nint*)Export(name);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private nint Export(string name) => NativeLibrary.GetExport(_handle, name);

    private static void Compile(string source, string output, params string[] defines) =>
        ExternalTools.RunOk("gcc", [.. defines, "-Wall", "-Werror", "-shared", "-fPIC", "-o", output, source]);

    /// <summary>The nearest folder above the test assembly holding UNet.Segmentation.sln.</summary>
    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "UNet.Segmentation.sln"))) return dir.FullName;
        throw new InvalidOperationException($"no UNet.Segmentation.sln above {AppContext.BaseDirectory}");
    }
}
