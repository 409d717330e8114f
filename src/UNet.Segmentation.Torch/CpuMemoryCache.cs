using System.Globalization;
using UNet.Segmentation.Torch.Native;
using static UNet.Segmentation.Torch.Native.NativeMethods;
using static UNet.Segmentation.Torch.Native.NativeStatus;

namespace UNet.Segmentation.Torch;

/// <summary>
/// The shim's caching CPU allocator, on by default. libtorch's default allocator gives every
/// large tensor a fresh mapping from the kernel, which zero-fills it page by page on first touch;
/// a U-Net step asks for the same sizes every time, so this cache keeps freed blocks of 1 MiB and
/// up for reuse (on transparent huge pages where the kernel allows) — the CPU counterpart of
/// CUDA's caching allocator. Memory held stays bounded by the step's peak plus <see cref="LimitBytes"/>.
/// Environment: <c>UNET_CPU_CACHE=0</c> turns caching off; <c>UNET_CPU_CACHE_LIMIT_MB</c> caps the cache.
/// </summary>
public static class CpuMemoryCache
{
    /// <summary>Whether freed large blocks are kept for reuse.</summary>
    public static bool Enabled => Stats().Caching;

    /// <summary>The most freed bytes kept for reuse; past it, freed blocks go back to the kernel.</summary>
    public static long LimitBytes
    {
        get
        {
            _ = Stats(); // loads the shim, which reads the environment's limit
            return _limitBytes;
        }
    }

    private static long _limitBytes;

    /// <summary>Bytes held in the cache, free for reuse.</summary>
    public static long CachedBytes => Stats().Cached;

    /// <summary>Large allocations served from the cache since the process started.</summary>
    public static long Hits => Stats().Hits;

    /// <summary>Large allocations that had to map new memory.</summary>
    public static long Misses => Stats().Misses;

    /// <summary>Turns caching on or off (off also releases the cache) and sets the limit.</summary>
    public static void Configure(bool enabled, long? limitBytes = null)
    {
        long limit = limitBytes ?? LimitBytes;
        ArgumentOutOfRangeException.ThrowIfNegative(limit, nameof(limitBytes));
        Check(uts_cpu_cache_configure(enabled ? (byte)1 : (byte)0, limit));
        _limitBytes = limit;
    }

    /// <summary>Gives every cached block back to the kernel (the resident set shrinks by <see cref="CachedBytes"/>).</summary>
    public static void Release() => Check(uts_cpu_cache_release());

    private static (long Cached, long Hits, long Misses, bool Caching) Stats()
    {
        Check(uts_cpu_cache_stats(out long cached, out long hits, out long misses, out byte caching));
        return (cached, hits, misses, caching != 0);
    }

    /// <summary>The settings at load time: UNET_CPU_CACHE (0 or 1) and UNET_CPU_CACHE_LIMIT_MB, checked.</summary>
    internal static (bool Caching, long LimitBytes) SettingsFromEnvironment()
    {
        string? on = Environment.GetEnvironmentVariable("UNET_CPU_CACHE");
        bool caching = on switch
        {
            null or "" or "1" => true,
            "0" => false,
            _ => throw new TorchNativeLoadException($"UNET_CPU_CACHE must be 0 or 1, not '{on}'"),
        };
        string? mb = Environment.GetEnvironmentVariable("UNET_CPU_CACHE_LIMIT_MB");
        long limit = string.IsNullOrEmpty(mb)
            ? GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 2
            : long.TryParse(mb, NumberStyles.None, CultureInfo.InvariantCulture, out long m) && m <= long.MaxValue / (1 << 20)
                ? m << 20
                : throw new TorchNativeLoadException($"UNET_CPU_CACHE_LIMIT_MB must be a whole number of MiB, not '{mb}'");
        _limitBytes = limit;
        return (caching, limit);
    }
}
