using System.Runtime.InteropServices;

namespace UNet.Segmentation.Runtime;

/// <summary>
/// Makes glibc keep freed memory for reuse instead of returning it to the kernel. libtorch on CPU
/// allocates and frees every activation each step (80 MB apiece for the reference U-Net); glibc
/// serves blocks over 32 MiB with mmap and unmaps them on free, so the kernel zero-fills fresh
/// pages on every step. With mmap off for the heap (M_MMAP_MAX 0) and trimming pushed out
/// (M_TRIM_THRESHOLD, M_TOP_PAD), freed blocks are reused (docs/performance.md measures the
/// effect). It is a process-wide setting of the C library: <see cref="Training.Trainer"/> and
/// <see cref="Inference.Predictor"/> turn it on unless their options or
/// <c>UNET_KEEP_FREED_MEMORY=0</c> say not to. Elsewhere than Linux with glibc it does nothing.
/// </summary>
/// <remarks>
/// glibc gives threads other than the main one arenas whose heaps grow to at most 64 MiB; a
/// larger block requested there is mapped with mmap whatever the setting. So blocks above
/// 64 MiB (the reference U-Net's activations at batch 1 and more) are reused only when the
/// training or prediction loop runs on the process's main thread, as in a console app; a
/// service that trains on a worker thread can start the process with <c>MALLOC_ARENA_MAX=1</c>
/// so every thread shares the main arena.
/// </remarks>
public static partial class FreedMemoryReuse
{
    private const int MTrimThreshold = -1;
    private const int MTopPad = -2;
    private const int MMmapMax = -4;

    /// <summary>Bytes of free memory glibc may keep at the top of the heap before trimming (1 GiB).</summary>
    public const int TrimThresholdBytes = 1 << 30;

    /// <summary>Extra bytes glibc asks the kernel for whenever the heap grows (64 MiB), so growth happens rarely.</summary>
    public const int TopPadBytes = 64 << 20;

    /// <summary>The environment variable that turns the setting off when it is "0".</summary>
    public const string EnvironmentVariable = "UNET_KEEP_FREED_MEMORY";

    private static int _state; // 0 untried, 1 on, -1 unavailable

    /// <summary>Whether the setting is in effect in this process.</summary>
    public static bool IsEnabled => Volatile.Read(ref _state) == 1;

    /// <summary>Turns the setting on (once; later calls return the first outcome). False when the platform has no glibc or the environment variable is "0".</summary>
    public static bool Enable()
    {
        if (Volatile.Read(ref _state) != 0) return _state == 1;
        bool ok = Environment.GetEnvironmentVariable(EnvironmentVariable) != "0" && OperatingSystem.IsLinux() && TrySet();
        Interlocked.CompareExchange(ref _state, ok ? 1 : -1, 0);
        return IsEnabled;
    }

    private static bool TrySet()
    {
        try
        {
            return mallopt(MMmapMax, 0) == 1 & mallopt(MTrimThreshold, TrimThresholdBytes) == 1 & mallopt(MTopPad, TopPadBytes) == 1;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false; // musl and other C libraries have no mallopt
        }
    }

    [LibraryImport("libc", EntryPoint = "mallopt")]
    private static partial int mallopt(int param, int value);
}
