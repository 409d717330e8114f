using System.Diagnostics;
using UNet.Segmentation.Data;
using UNet.Segmentation.Imaging;

namespace UNet.Segmentation.Benchmarks.Volumes;

/// <summary>
/// "synthetic-volume": writes a large synthetic EM stack (SyntheticEm, one page at a time, so the
/// volume never has to fit in memory) as an 8-bit TIFF, BigTIFF when it may pass 4 GiB: the input
/// of the streaming-prediction measurements in docs/prediction.md.
/// <c>synthetic-volume --pages N --size S --out FILE [--seed K]</c>.
/// </summary>
public static class SyntheticVolumeCommand
{
    public static int Run(string[] args)
    {
        int pages = 200, size = 2048, seed = 0;
        string? output = null;
        for (int i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--pages": pages = int.Parse(Value()); break;
                case "--size": size = int.Parse(Value()); break;
                case "--seed": seed = int.Parse(Value()); break;
                case "--out": output = Value(); break;
                default: Console.Error.WriteLine($"synthetic-volume: unknown argument '{args[i]}' (--pages N --size S --out FILE [--seed K])"); return 2;
            }
        }
        if (output is null || pages < 1 || size < 64)
        {
            Console.Error.WriteLine("synthetic-volume: --out FILE is required, --pages at least 1, --size at least 64");
            return 2;
        }
        var watch = Stopwatch.StartNew();
        bool big = (long)pages * size * size > int.MaxValue;
        using (var stream = new FileStream(output, FileMode.Create, FileAccess.ReadWrite))
        using (var writer = new TiffPageWriter(stream, output, pages, size, size, TiffSampleFormat.UInt8, TiffCompression.None, bigTiff: big))
        {
            for (int p = 0; p < pages; p++)
            {
                var (images, _) = SyntheticEm.Generate(new SyntheticEmOptions { Slices = 1, Size = size, Seed = seed + p });
                writer.WritePage(images);
            }
            writer.Finish();
        }
        Console.WriteLine($"synthetic-volume: {pages} pages of {size}x{size} ({(big ? "BigTIFF" : "TIFF")}, {new FileInfo(output).Length / 1e6:F0} MB) in {watch.Elapsed.TotalSeconds:F0} s -> {output}");
        return 0;
    }
}
