namespace UNet.Segmentation.Data;

/// <summary>Deterministic seed mixing (SplitMix64): the same inputs give the same seed in every process, unlike <see cref="HashCode"/>.</summary>
internal static class Seeds
{
    public static int Mix(long a, long b, long c)
    {
        ulong h = 0x9E3779B97F4A7C15UL;
        foreach (long v in (ReadOnlySpan<long>)[a, b, c]) h = SplitMix(h ^ (ulong)v);
        return (int)(h & 0x7FFFFFFF);
    }

    private static ulong SplitMix(ulong x)
    {
        x += 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }
}
