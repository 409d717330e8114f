using System.Runtime.InteropServices;
using UNet.Segmentation.Imaging;

namespace UNet.Segmentation.Tests.Imaging;

/// <summary>A fresh folder under the system temp folder, deleted on dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "unet-imaging-" + Guid.NewGuid().ToString("N")[..12]);

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public string[] Entries() => Directory.GetFileSystemEntries(Path).Select(System.IO.Path.GetFileName).OrderBy(n => n).ToArray()!;

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Small volumes with gradients, runs, noise and (for floats) special values, so that every compression path is exercised.</summary>
internal static class TestVolumes
{
    public static TiffVolume Make(TiffSampleFormat format, int pages, int height, int width, int seed = 1)
    {
        var random = new Random(seed);
        int n = pages * height * width;
        var values = new double[n];
        for (int p = 0; p < pages; p++)
            for (int y = 0; y < height; y++)
                for (int x = 0; x < width; x++)
                {
                    int i = (p * height + y) * width + x;
                    values[i] = y % 5 == 2 ? 200                          // long runs
                        : x < width / 3 ? (x * 7 + y * 3 + p * 11) % 256   // gradient
                        : random.Next(256);                               // noise
                }
        switch (format)
        {
            case TiffSampleFormat.UInt8:
                return new TiffVolume(pages, height, width, values.Select(v => (byte)v).ToArray());
            case TiffSampleFormat.UInt16:
                return new TiffVolume(pages, height, width, values.Select((v, i) => (ushort)(v * 257 + i % 3)).ToArray());
            default:
                var floats = values.Select((v, i) => (float)(v * 0.37 - 20 + i * 1e-3)).ToArray();
                float[] special = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, -0f, float.Epsilon, float.MaxValue];
                for (int k = 0; k < special.Length && k < floats.Length; k++) floats[k * 7 % floats.Length] = special[k];
                return new TiffVolume(pages, height, width, floats);
        }
    }

    /// <summary>The raw bytes of the volume's samples, so that floats (NaN included) compare bit for bit.</summary>
    public static byte[] RawBytes(TiffVolume v) => v.SampleFormat switch
    {
        TiffSampleFormat.UInt8 => v.GetUInt8().ToArray(),
        TiffSampleFormat.UInt16 => MemoryMarshal.AsBytes(v.GetUInt16().AsSpan()).ToArray(),
        _ => MemoryMarshal.AsBytes(v.GetFloat32().AsSpan()).ToArray(),
    };

    public static void AssertSame(TiffVolume expected, TiffVolume actual)
    {
        Assert.Equal(expected.SampleFormat, actual.SampleFormat);
        Assert.Equal((expected.PageCount, expected.Height, expected.Width), (actual.PageCount, actual.Height, actual.Width));
        byte[] a = RawBytes(expected), b = RawBytes(actual);
        int first = Enumerable.Range(0, a.Length).FirstOrDefault(i => a[i] != b[i], -1);
        Assert.True(first < 0, $"samples differ first at byte {first} (expected {(first >= 0 ? a[first] : 0)}, got {(first >= 0 ? b[first] : 0)})");
    }

    public static byte[] ToBytes(TiffVolume volume, TiffCompression compression = TiffCompression.None)
    {
        using var stream = new MemoryStream();
        Tiff.Write(stream, volume, compression);
        return stream.ToArray();
    }
}
