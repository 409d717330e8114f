using System.Runtime.InteropServices;
using UNet.Segmentation.Runtime;

namespace UNet.Segmentation.Tests.Runtime;

/// <summary>glibc keeps freed memory for reuse once <see cref="FreedMemoryReuse.Enable"/> ran (what Trainer and Predictor do by default).</summary>
[Collection("LiveTensors")]
public sealed partial class FreedMemoryReuseTests
{
    [StructLayout(LayoutKind.Sequential)]
    private struct MallInfo2
    {
        public nuint Arena, Ordblks, Smblks, Hblks, Hblkhd, Usmblks, Fsmblks, Uordblks, Fordblks, Keepcost;
    }

    [LibraryImport("libc", EntryPoint = "mallinfo2")]
    private static partial MallInfo2 mallinfo2();

    [Fact]
    public unsafe void AfterEnable_ABlockOfLibtorchActivationSize_ComesFromTheHeap_AndStaysThereWhenFreed()
    {
        Assert.True(FreedMemoryReuse.Enable(), "glibc's mallopt should be reachable on Linux");
        Assert.True(FreedMemoryReuse.IsEnabled);
        Assert.True(FreedMemoryReuse.Enable()); // idempotent

        // 40 MiB: above glibc's largest mmap threshold (32 MiB), so without the setting glibc
        // serves it with mmap and unmaps it on free. xunit runs tests on worker threads, whose
        // arenas can only grow heaps of up to 64 MiB: larger blocks (the reference U-Net's 83 MB
        // activations) stay off mmap only on the main thread (see FreedMemoryReuse's remarks),
        // which is where the CLI and the benchmark workers train.
        const int Bytes = 40 << 20;
        var before = mallinfo2();
        void* block = NativeMemory.Alloc(Bytes);
        try
        {
            new Span<byte>(block, 1 << 20).Fill(1);
            var during = mallinfo2();
            Assert.Equal(before.Hblkhd, during.Hblkhd);
        }
        finally
        {
            NativeMemory.Free(block);
        }
        var after = mallinfo2();
        Assert.True(after.Fordblks >= Bytes, $"only {after.Fordblks} free bytes kept in the heap after freeing {Bytes}");
    }
}
