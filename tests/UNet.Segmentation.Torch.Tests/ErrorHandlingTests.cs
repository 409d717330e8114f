using System.Collections.Concurrent;
using Xunit.Abstractions;

namespace UNet.Segmentation.Torch.Tests;

/// <summary>A fact skipped (with its reason shown) when OMP_NUM_THREADS decides libtorch's thread count.</summary>
public sealed class FactUnlessOmpNumThreadsAttribute : FactAttribute
{
    public FactUnlessOmpNumThreadsAttribute()
    {
        if (Environment.GetEnvironmentVariable("OMP_NUM_THREADS") is { Length: > 0 } value)
            Skip = $"OMP_NUM_THREADS={value} is set, so the binding leaves libtorch's thread count to OpenMP";
    }
}

[Collection("LiveTensors")]
public class ErrorHandlingTests(ITestOutputHelper output)
{
    private static Tensor ConvWithMismatchedChannels()
    {
        var input = Tensor.Zeros([1, 2, 8, 8]);
        var weight = Tensor.Zeros([4, 3, 3, 3]);
        return Functional.Conv2d(input, weight);
    }

    [Fact]
    public void Conv2d_MismatchedChannels_ThrowsLibtorchsExplanation_AndTheProcessLivesOn()
    {
        using var scope = TensorScope.Begin();
        var e = Assert.Throws<TorchException>(ConvWithMismatchedChannels);
        output.WriteLine(e.Message);
        Assert.Equal(TorchErrorKind.Engine, e.Kind);
        Assert.Contains("channels", e.Message);
        Assert.Contains("expected input[1, 2, 8, 8] to have 3 channels", e.Message);
        // No C++ backtrace in the message.
        Assert.DoesNotContain("frame #", e.Message);

        var ok = Functional.Conv2d(Tensor.Ones([1, 3, 8, 8]), Tensor.Ones([4, 3, 3, 3]));
        Assert.Equal(new long[] { 1, 4, 6, 6 }, ok.Shape);
        Assert.Equal(27.0, ok.Max().ToDouble());
    }

    [Fact]
    public void AThousandFailingCalls_LeakNoHandles()
    {
        using var scope = TensorScope.Begin();
        var input = Tensor.Zeros([1, 2, 4, 4]);
        var weight = Tensor.Zeros([4, 3, 3, 3]);
        var a = Tensor.Zeros([2, 3]);
        var b = Tensor.Zeros([2, 4]);
        LiveTensors.Settle();
        long baseline = LibTorch.LiveTensorCount;
        int failures = 0;
        for (int i = 0; i < 1000; i++)
        {
            try
            {
                _ = (i % 3) switch
                {
                    0 => Functional.Conv2d(input, weight),        // libtorch raises
                    1 => Tensor.Cat([a, b]),                       // libtorch raises
                    _ => Tensor.From<float>(new float[3], [2, 2]), // the shim rejects
                };
            }
            catch (TorchException) { failures++; }
        }
        Assert.Equal(1000, failures);
        Assert.Equal(baseline, LibTorch.LiveTensorCount);
        Assert.Equal(4, scope.Count);
    }

    [Fact]
    public void UsingADisposedTensor_ThrowsObjectDisposedException()
    {
        using var scope = TensorScope.Begin();
        var t = Tensor.Ones([2, 2]);
        var w = Tensor.Ones([1, 1, 1, 1]);
        var x = Tensor.Ones([1, 1, 2, 2]);
        t.Dispose();
        Assert.True(t.IsDisposed);
        t.Dispose(); // idempotent
        Assert.Throws<ObjectDisposedException>(() => t.Add(1.0));
        Assert.Throws<ObjectDisposedException>(() => t.Shape);
        Assert.Throws<ObjectDisposedException>(() => t.ToArray<float>());
        Assert.Throws<ObjectDisposedException>(() => x.Add(t));
        Assert.Throws<ObjectDisposedException>(() => Tensor.Cat([x, t]));
        Assert.Throws<ObjectDisposedException>(() => t.Backward());

        var bias = Tensor.Ones([1]);
        bias.Dispose();
        Assert.Throws<ObjectDisposedException>(() => Functional.Conv2d(x, w, bias));
        // The live tensors are unharmed.
        Assert.Equal(4.0, Functional.Conv2d(x, w).Sum().ToDouble());
    }

    [Fact]
    public void AbsurdAllocation_ThrowsTorchException_NotACrash()
    {
        using var scope = TensorScope.Begin();
        LiveTensors.Settle();
        long baseline = LibTorch.LiveTensorCount;
        var e = Assert.ThrowsAny<TorchException>(() => Tensor.Empty([1L << 40, 1L << 30]));
        output.WriteLine($"{e.GetType().Name} ({e.Kind}): {e.Message}");
        Assert.Equal(baseline, LibTorch.LiveTensorCount);
        Assert.Equal(6, Tensor.Ones([2, 3]).Sum().ToInt64());
    }

    [Fact]
    public void HostOutOfMemory_IsTorchOutOfMemoryException()
    {
        // 2^48 floats = 1 PiB: beyond any address space, so malloc fails even with overcommit.
        // Exceptions.cs documents TorchOutOfMemoryException for "a host or device allocation".
        using var scope = TensorScope.Begin();
        var e = Assert.ThrowsAny<TorchException>(() => Tensor.Empty([1L << 48]));
        output.WriteLine($"{e.GetType().Name} ({e.Kind}): {e.Message}");
        Assert.IsType<TorchOutOfMemoryException>(e);
        Assert.Equal(TorchErrorKind.OutOfMemory, e.Kind);
    }

    [Fact]
    public void ShimRejections_AreInvalidArgumentKind()
    {
        using var scope = TensorScope.Begin();
        var e = Assert.Throws<TorchException>(() => Tensor.Empty([2, -1]));
        Assert.Equal(TorchErrorKind.InvalidArgument, e.Kind);
        Assert.Contains("negative", e.Message);
        var b = Assert.Throws<TorchException>(() => Tensor.Zeros([2]).Backward());
        Assert.Equal(TorchErrorKind.InvalidArgument, b.Kind);
    }

    [Fact]
    public void ErrorMessages_ArePerThread_ConcurrentFailuresDoNotClobberEachOther()
    {
        const int rounds = 300;
        using var barrier = new Barrier(2);
        var problems = new ConcurrentQueue<string>();

        void Run(Func<Tensor> fail, string mine, string theirs)
        {
            try
            {
                using var scope = TensorScope.Begin();
                for (int i = 0; i < rounds; i++)
                {
                    barrier.SignalAndWait();
                    try
                    {
                        fail();
                        problems.Enqueue("no exception");
                    }
                    catch (TorchException e)
                    {
                        if (!e.Message.Contains(mine, StringComparison.Ordinal) || e.Message.Contains(theirs, StringComparison.Ordinal))
                            problems.Enqueue($"round {i}: expected '{mine}', got: {e.Message}");
                    }
                }
            }
            catch (Exception e)
            {
                problems.Enqueue(e.ToString());
                barrier.RemoveParticipant();
            }
        }

        var convInput = Tensor.Zeros([1, 2, 4, 4]).DetachFromScope();
        var convWeight = Tensor.Zeros([4, 3, 3, 3]).DetachFromScope();
        var a = Tensor.Zeros([2, 3]).DetachFromScope();
        var b = Tensor.Zeros([2, 4]).DetachFromScope();
        try
        {
            var t1 = new Thread(() => Run(() => Functional.Conv2d(convInput, convWeight), "channels", "Sizes of tensors"));
            var t2 = new Thread(() => Run(() => Tensor.Cat([a, b]), "Sizes of tensors", "channels"));
            t1.Start();
            t2.Start();
            Assert.True(t1.Join(TimeSpan.FromMinutes(2)));
            Assert.True(t2.Join(TimeSpan.FromMinutes(2)));
        }
        finally
        {
            convInput.Dispose();
            convWeight.Dispose();
            a.Dispose();
            b.Dispose();
        }
        Assert.Empty(problems);
    }

    [Fact]
    public void Version_IsAOneOrTwoSeriesVersion()
    {
        var v = LibTorch.Version;
        output.WriteLine(v);
        Assert.True(v.StartsWith("1.", StringComparison.Ordinal) || v.StartsWith("2.", StringComparison.Ordinal), v);
        Assert.Matches(@"^\d+\.\d+\.\d+", v);
        Assert.Equal(UNet.Segmentation.Torch.Native.NativeMethods.AbiVersion, LibTorch.AbiVersion);
    }

    [FactUnlessOmpNumThreads]
    public void Threads_DefaultsToTheProcessorCount()
    {
        Assert.Equal(Environment.ProcessorCount, LibTorch.Threads);
        // Also on a thread that never touched libtorch before.
        int seen = 0;
        var t = new Thread(() => seen = LibTorch.Threads);
        t.Start();
        t.Join();
        Assert.Equal(Environment.ProcessorCount, seen);
    }

    [Fact]
    public void Threads_CanBeSet_AndRejectsLessThanOne()
    {
        int original = LibTorch.Threads;
        try
        {
            int wanted = original == 1 ? 2 : 1;
            LibTorch.Threads = wanted;
            Assert.Equal(wanted, LibTorch.Threads);
            int seen = 0;
            var t = new Thread(() => seen = LibTorch.Threads);
            t.Start();
            t.Join();
            Assert.Equal(wanted, seen);
            using (TensorScope.Begin())
                Assert.Equal(16.0, Functional.Conv2d(Tensor.Ones([1, 1, 5, 5]), Tensor.Ones([1, 1, 2, 2])).Sum().ToDouble() / 4);
            Assert.Throws<ArgumentOutOfRangeException>(() => LibTorch.Threads = 0);
            Assert.Equal(wanted, LibTorch.Threads);
        }
        finally
        {
            LibTorch.Threads = original;
        }
        Assert.Equal(original, LibTorch.Threads);
    }

    [Fact]
    public void Cuda_AvailabilityAndDeviceCountAgree()
    {
        bool available = Cuda.IsAvailable;
        int count = Cuda.DeviceCount;
        output.WriteLine($"CUDA available: {available}, devices: {count}");
        Assert.True(count >= 0);
        Assert.Equal(available, count > 0);
        if (!available)
        {
            var e = Assert.Throws<TorchException>(() => Cuda.Synchronize());
            Assert.Contains("CUDA", e.Message);
            using var scope = TensorScope.Begin();
            Assert.ThrowsAny<TorchException>(() => Tensor.Zeros([2], device: Device.Cuda()));
            Assert.ThrowsAny<TorchException>(() => Tensor.Ones([2]).To(Device.Cuda()));
        }
    }

    [Theory]
    [InlineData("cpu", DeviceType.Cpu, 0)]
    [InlineData("CPU", DeviceType.Cpu, 0)]
    [InlineData(" cpu ", DeviceType.Cpu, 0)]
    [InlineData("cuda", DeviceType.Cuda, 0)]
    [InlineData("Cuda:0", DeviceType.Cuda, 0)]
    [InlineData("cuda:3", DeviceType.Cuda, 3)]
    [InlineData("cuda:12", DeviceType.Cuda, 12)]
    public void DeviceParse_AcceptsCpuCudaAndCudaN(string text, DeviceType type, int index)
    {
        var d = Device.Parse(text);
        Assert.Equal(new Device(type, index), d);
        Assert.Equal(d, Device.Parse(d.ToString()));
    }

    [Theory]
    [InlineData("")]
    [InlineData("gpu")]
    [InlineData("cuda:")]
    [InlineData("cuda:x")]
    [InlineData("cuda:-1")]
    [InlineData("cuda:1:2")]
    [InlineData("cpu:0")]
    [InlineData("mps")]
    public void DeviceParse_BadInput_ThrowsArgumentExceptionNamingTheText(string text)
    {
        var e = Assert.Throws<ArgumentException>(() => Device.Parse(text));
        Assert.Equal("text", e.ParamName);
        Assert.Contains($"'{text}'", e.Message);
    }

    [Fact]
    public void DeviceParse_NullAndNegativeIndex()
    {
        Assert.Throws<ArgumentNullException>(() => Device.Parse(null!));
        Assert.Throws<ArgumentOutOfRangeException>(() => Device.Cuda(-1));
        Assert.Equal("cpu", Device.Cpu.ToString());
        Assert.Equal("cuda:2", Device.Cuda(2).ToString());
    }
}
