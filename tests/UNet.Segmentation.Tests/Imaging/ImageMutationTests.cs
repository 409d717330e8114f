using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using SkiaSharp;
using UNet.Segmentation.Imaging;

namespace UNet.Segmentation.Tests.Imaging;

/// <summary>
/// 10,000 seeded mutations of valid TIFF, PNG and JPEG files (bit flips, truncations, splices,
/// inserted and deleted blocks, forged 2- and 4-byte fields, forged TIFF IFD entries, PNG chunks
/// and JPEG segments with their checksums made right again so the decoders look deeper). Each is
/// read the way the library reads images: either it succeeds, or it fails with our typed exception
/// naming the file (and, for a TIFF past its header, the page) — never another exception, never a
/// crash of the process (LibTiff.NET is managed, Skia is native: a crash would end the test run),
/// and never longer than a generous bound per file. Two threads read at once, as LibTiff.NET's
/// error handler is one for the whole process.
/// </summary>
public class ImageMutationTests(ITestOutputHelper output)
{
    private const int Mutations = 10_000;

    /// <summary>A hang guard, not a speed test: the slowest file measured here took well under a second.</summary>
    private static readonly TimeSpan PerFile = TimeSpan.FromSeconds(5);

    private static readonly uint[] Interesting = [0, 1, 2, 7, 8, 255, 256, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 1 << 30, 100_000];

    private enum Kind { Tiff, Png, Jpeg }

    private sealed record Base(string Name, Kind Kind, byte[] Bytes);

    /// <summary>What TIFF problems may name no page: the header's, and those of the volume as a whole.</summary>
    private static readonly string[] PagelessTiffProblems =
    [
        "too short", "not a TIFF file", "BigTIFF", "truncated inside its 8-byte header", "first IFD offset is 0", "the first IFD at offset",
        "all pages of a volume", "more than one array can hold", "bytes of pixels, more than a",
    ];

    [Fact]
    public async Task MutatedFiles_GiveOnlyOurTypedExceptions_InBoundedTime()
    {
        var bases = BaseFiles();
        var kinds = bases.GroupBy(b => b.Kind).ToDictionary(g => g.Key, g => g.ToList());
        Assert.True(kinds.Count == 3, "TIFF, PNG and JPEG base files are all needed");
        var failures = new ConcurrentQueue<string>();
        var timings = new ConcurrentBag<(double Ms, string Label)>();
        var outcomes = new ConcurrentDictionary<string, int>();
        var current = new string?[2];
        var run = Task.Run(() => Parallel.For(0, Mutations, new ParallelOptions { MaxDegreeOfParallelism = 2 }, () => -1, (i, _, slot) =>
        {
            var random = new Random(14_000 + i); // each mutation has its own seed: reproducible on any thread
            var original = bases[i % bases.Count];
            var sameKind = kinds[original.Kind];
            var mutant = Mutate(original, sameKind[random.Next(sameKind.Count)].Bytes, random);
            string label = $"{original.Name}#{i}";
            if (slot < 0) slot = Environment.CurrentManagedThreadId % 2;
            current[slot] = label;
            var clock = Stopwatch.StartNew();
            string outcome = ReadOne(original.Kind, mutant, label, i, failures);
            clock.Stop();
            outcomes.AddOrUpdate($"{original.Kind}: {outcome}", 1, (_, n) => n + 1);
            timings.Add((clock.Elapsed.TotalMilliseconds, label));
            if (clock.Elapsed > PerFile) failures.Enqueue($"{label}: took {clock.Elapsed.TotalSeconds:F1} s (bound {PerFile.TotalSeconds} s)");
            return slot;
        }, _ => { }));
        if (await Task.WhenAny(run, Task.Delay(TimeSpan.FromMinutes(10), TestContext.Current.CancellationToken)) != run)
            Assert.Fail($"the mutation run did not finish; it was reading {string.Join(" and ", current.Where(c => c is not null))}");
        await run;

        foreach (var (key, count) in outcomes.OrderBy(o => o.Key)) output.WriteLine($"{count,6}  {key}");
        var slowest = timings.OrderByDescending(t => t.Ms).Take(5).Select(t => $"{t.Label} {t.Ms:F0} ms");
        output.WriteLine($"{bases.Count} base files, {timings.Count} mutations, slowest: {string.Join(", ", slowest)}");
        Assert.Equal(Mutations, timings.Count);
        Assert.True(failures.IsEmpty, $"{failures.Count} failures:\n" + string.Join("\n", failures.Take(10)));
    }

    /// <summary>Reads one mutant; returns what happened, or records a failure.</summary>
    private static string ReadOne(Kind kind, byte[] mutant, string label, int i, ConcurrentQueue<string> failures)
    {
        try
        {
            if (kind == Kind.Tiff && i % 3 != 0)
            {
                if (i % 3 == 1) Tiff.ReadInfo(new MemoryStream(mutant), label);
                var volume = Tiff.Read(new MemoryStream(mutant), label);
                if (TestVolumes.RawBytes(volume).Length != (long)volume.PageCount * volume.PixelsPerPage * volume.BytesPerSample)
                    failures.Enqueue($"{label}: the volume's array does not match its shape");
                return "read (volume)";
            }
            var image = ImageFiles.Read(new MemoryStream(mutant), label);
            int top = (1 << image.BitsPerSample) - 1;
            if (image.Samples.Length != (long)image.Width * image.Height * image.Channels || image.Samples.Any(s => s > top))
                failures.Enqueue($"{label}: the image's samples do not match its shape or depth");
            return "read (image)";
        }
        catch (TiffFormatException e) when (kind == Kind.Tiff)
        {
            if (e.FilePath != label || !e.Message.Contains($"'{label}'"))
                failures.Enqueue($"{label}: the message does not name the file: {e.Message}");
            else if (e.Page is null && !PagelessTiffProblems.Any(p => e.Problem.Contains(p, StringComparison.Ordinal)))
                failures.Enqueue($"{label}: a problem past the header names no page: {e.Message}");
            else if (e.Page is { } page && !e.Message.Contains($"page {page}: "))
                failures.Enqueue($"{label}: the message does not name page {page}: {e.Message}");
            return e.InnerException is null ? "TiffFormatException" : $"TiffFormatException ({e.InnerException.GetType().Name} inside)";
        }
        catch (ImageFormatException e) when (e is not TiffFormatException)
        {
            if (kind == Kind.Tiff && ImageFiles.Detect(mutant) == ImageFileFormat.Tiff)
                failures.Enqueue($"{label}: a TIFF failed without TiffFormatException: {e.Message}");
            if (e.FilePath != label || !e.Message.Contains($"'{label}'"))
                failures.Enqueue($"{label}: the message does not name the file: {e.Message}");
            return ImageFiles.Detect(mutant) is null ? "ImageFormatException (unknown format)" : "ImageFormatException";
        }
        catch (Exception e)
        {
            failures.Enqueue($"{label}: {e.GetType().Name}: {e.Message}\n  {e.StackTrace?.Split('\n').FirstOrDefault()}\n  inner: {e.InnerException}");
            return e.GetType().Name;
        }
    }

    private List<Base> BaseFiles()
    {
        var files = new List<Base>
        {
            new("u8-none.tif", Kind.Tiff, TestVolumes.ToBytes(TestVolumes.Make(TiffSampleFormat.UInt8, 3, 12, 17))),
            new("u16-lzw.tif", Kind.Tiff, TestVolumes.ToBytes(TestVolumes.Make(TiffSampleFormat.UInt16, 2, 9, 13), TiffCompression.Lzw)),
            new("f32-deflate.tif", Kind.Tiff, TestVolumes.ToBytes(TestVolumes.Make(TiffSampleFormat.Float32, 2, 8, 11), TiffCompression.Deflate)),
            new("u8-packbits.tif", Kind.Tiff, TestVolumes.ToBytes(TestVolumes.Make(TiffSampleFormat.UInt8, 2, 10, 30), TiffCompression.PackBits)),
        };
        var builder = new TiffBuilder { BigEndian = true };
        var tiled = BuilderPage.Gray(20, 18, 16).Remove(278).Set(322, TiffBuilder.Short, 16).Set(323, TiffBuilder.Short, 16);
        tiled.Tiled = true;
        for (int t = 0; t < 4; t++) tiled.Chunks.Add(builder.Samples(Enumerable.Range(0, 256).Select(i => (ushort)(i * 97 + t)).ToArray()));
        var predicted = BuilderPage.Gray(20, 18, 16, compression: 8, rowsPerStrip: 5).Set(317, TiffBuilder.Short, 2)
            .Strips(builder.Samples(Enumerable.Range(0, 360).Select(i => (ushort)(i % 7)).ToArray()), 40, 5, TiffBadFileTests.Deflate);
        files.Add(new("be-tiles-deflate-predictor.tif", Kind.Tiff, builder.Add(tiled).Add(predicted).Build()));
        var rgb = BuilderPage.Gray(6, 5, 8).Set(258, TiffBuilder.Short, 8, 8, 8).Set(262, TiffBuilder.Short, 2).Set(277, TiffBuilder.Short, 3)
            .Set(284, TiffBuilder.Short, 2).Strips(Enumerable.Range(0, 90).Select(i => (byte)(i * 7)).ToArray(), 6, 5);
        files.Add(new("rgb-planar.tif", Kind.Tiff, new TiffBuilder().Add(rgb).Build()));

        using var dir = new TempDir();
        var grey = Enumerable.Range(0, 23 * 17).Select(i => (byte)(i * 13 % 256 ^ i / 23)).ToArray();
        Png.WriteGray(dir.File("grey.png"), grey, 23, 17);
        Png.WriteRgb(dir.File("rgb.png"), Enumerable.Range(0, 19 * 11 * 3).Select(i => (byte)(i * 5 % 253)).ToArray(), 19, 11);
        files.Add(new("grey.png", Kind.Png, File.ReadAllBytes(dir.File("grey.png"))));
        files.Add(new("rgb.png", Kind.Png, File.ReadAllBytes(dir.File("rgb.png"))));
        files.Add(new("grey.jpg", Kind.Jpeg, SkiaJpeg(grey, 23, 17, SKColorType.Gray8, SKJpegEncoderDownsample.Downsample420)));
        var rgba = Enumerable.Range(0, 21 * 14 * 4).Select(i => i % 4 == 3 ? (byte)255 : (byte)(i * 7 % 256 ^ i / 84)).ToArray();
        files.Add(new("colour-420.jpg", Kind.Jpeg, SkiaJpeg(rgba, 21, 14, SKColorType.Rgba8888, SKJpegEncoderDownsample.Downsample420)));
        files.Add(new("colour-444.jpg", Kind.Jpeg, SkiaJpeg(rgba, 21, 14, SKColorType.Rgba8888, SKJpegEncoderDownsample.Downsample444)));

        if (ExternalTools.Find("tiffcp") is { })
        {
            string source = dir.File("source.tif");
            Tiff.Write(source, TestVolumes.Make(TiffSampleFormat.UInt16, 2, 20, 35));
            Tiff.Write(dir.File("float.tif"), TestVolumes.Make(TiffSampleFormat.Float32, 1, 12, 10));
            string[][] variants = [["-t", "-w", "16", "-l", "16", "-c", "lzw:2"], ["-B", "-c", "zip:2"], ["-B", "-t", "-w", "16", "-l", "16", "-c", "packbits"], ["-r", "3", "-c", "lzw"]];
            foreach (var variant in variants)
            {
                ExternalTools.RunOk("tiffcp", [.. variant, source, dir.File("variant.tif")]);
                files.Add(new("tiffcp " + string.Join(' ', variant), Kind.Tiff, File.ReadAllBytes(dir.File("variant.tif"))));
            }
            ExternalTools.RunOk("tiffcp", "-B", "-c", "lzw:3", dir.File("float.tif"), dir.File("float-be.tif"));
            files.Add(new("tiffcp -B -c lzw:3 (float)", Kind.Tiff, File.ReadAllBytes(dir.File("float-be.tif"))));
        }
        else
        {
            output.WriteLine("tiffcp not found: mutating only TIFFs made by our writer and the test builder");
        }
        if (ExternalTools.HasPil(output))
        {
            ExternalTools.RunOk(ExternalTools.Python, "-c", ImageFilesTests.PngMaker, dir.Path);
            foreach (var name in new[] { "palette8-trns", "greyalpha8", "rgb8-adam7", "grey2", "rgba8" })
                files.Add(new(name + ".png", Kind.Png, File.ReadAllBytes(dir.File(name + ".png"))));
            ExternalTools.RunOk(ExternalTools.Python, "-c", """
                import sys
                from PIL import Image
                im = Image.new('RGB', (27, 19)); im.putdata([(x * 9 % 256, y * 13 % 256, (x * y) % 256) for y in range(19) for x in range(27)])
                im.save(sys.argv[1] + '/progressive.jpg', quality=80, progressive=True)
                im.save(sys.argv[1] + '/restart.jpg', quality=80, restart_marker_blocks=2)
                """, dir.Path);
            files.Add(new("progressive.jpg", Kind.Jpeg, File.ReadAllBytes(dir.File("progressive.jpg"))));
            files.Add(new("restart.jpg", Kind.Jpeg, File.ReadAllBytes(dir.File("restart.jpg"))));
        }
        return files;
    }

    private static unsafe byte[] SkiaJpeg(byte[] pixels, int width, int height, SKColorType type, SKJpegEncoderDownsample downsample)
    {
        fixed (byte* pointer = pixels)
        {
            using var pixmap = new SKPixmap(new SKImageInfo(width, height, type, SKAlphaType.Opaque), (IntPtr)pointer, width * (type == SKColorType.Gray8 ? 1 : 4));
            using var data = pixmap.Encode(new SKJpegEncoderOptions(85, downsample, SKJpegEncoderAlphaOption.Ignore));
            return data.ToArray();
        }
    }

    private static byte[] Mutate(Base original, byte[] other, Random random)
    {
        var bytes = (byte[])original.Bytes.Clone();
        bool bigEndian = original.Kind != Kind.Tiff || bytes[0] == 'M';
        int steps = 1 + random.Next(3);
        for (int s = 0; s < steps && bytes.Length > 8; s++)
        {
            int choice = random.Next(8);
            if (choice == 7)
            {
                bytes = original.Kind switch
                {
                    Kind.Tiff => MutateIfdEntry(bytes, random),
                    Kind.Png => MutatePngChunk(bytes, random),
                    _ => MutateJpegSegment(bytes, random),
                };
                continue;
            }
            switch (choice)
            {
                case 0: // flip a few bytes
                    for (int k = random.Next(1, 5); k > 0; k--) bytes[random.Next(bytes.Length)] ^= (byte)random.Next(1, 256);
                    break;
                case 1: // truncate
                    bytes = bytes[..random.Next(bytes.Length)];
                    break;
                case 2: // splice a block from this or another file of the same kind
                    int length = random.Next(1, 65), from = random.Next(Math.Max(1, other.Length - length)), to = random.Next(Math.Max(1, bytes.Length - length));
                    other.AsSpan(from, Math.Min(length, other.Length - from)).TryCopyTo(bytes.AsSpan(to));
                    break;
                case 3: // a 4-byte field anywhere
                    Write32(bytes, random.Next(bytes.Length - 3), Pick(random, bytes.Length), bigEndian);
                    break;
                case 4: // a 2-byte field anywhere
                    Write16(bytes, random.Next(bytes.Length - 1), (ushort)Pick(random, bytes.Length), bigEndian);
                    break;
                case 5: // insert or delete a block, shifting everything after it
                    int at = random.Next(bytes.Length), size = random.Next(1, 32);
                    bytes = random.Next(2) == 0
                        ? [.. bytes[..at], .. Enumerable.Range(0, size).Select(_ => (byte)random.Next(256)), .. bytes[at..]]
                        : [.. bytes[..at], .. bytes[Math.Min(bytes.Length, at + size)..]];
                    break;
                default: // a single bit
                    bytes[random.Next(bytes.Length)] ^= (byte)(1 << random.Next(8));
                    break;
            }
        }
        // Most PNG mutants get correct chunk CRCs again, so that libpng decodes what was changed
        // instead of stopping at the first checksum.
        if (original.Kind == Kind.Png && random.Next(4) != 0) FixPngCrcs(bytes);
        return bytes;
    }

    private static uint Pick(Random random, int length) => random.Next(4) switch
    {
        0 => (uint)random.Next(),
        1 => (uint)(length + random.Next(-4, 5)),
        _ => Interesting[random.Next(Interesting.Length)],
    };

    private static void Write32(byte[] bytes, int at, uint value, bool bigEndian)
    {
        if (bigEndian) BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(at), value);
        else BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(at), value);
    }

    private static void Write16(byte[] bytes, int at, ushort value, bool bigEndian)
    {
        if (bigEndian) BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(at), value);
        else BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(at), value);
    }

    /// <summary>Changes one IFD entry's type, count or value (a test-side walk of the chain of the unmutated layout).</summary>
    private static byte[] MutateIfdEntry(byte[] bytes, Random random)
    {
        var entries = IfdEntries(bytes);
        if (entries.Count == 0) return bytes;
        int entry = entries[random.Next(entries.Count)];
        bool big = bytes[0] == 'M';
        int field = random.Next(3);
        if (field == 0) Write16(bytes, entry + 2, (ushort)random.Next(0, 14), big);
        else Write32(bytes, entry + (field == 1 ? 4 : 8), Pick(random, bytes.Length), big);
        return bytes;
    }

    private static List<int> IfdEntries(byte[] file)
    {
        var positions = new List<int>();
        if (file.Length < 8) return positions;
        bool big = file[0] == 'M';
        uint U32(int at) => big ? BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan(at)) : BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(at));
        ushort U16(int at) => big ? BinaryPrimitives.ReadUInt16BigEndian(file.AsSpan(at)) : BinaryPrimitives.ReadUInt16LittleEndian(file.AsSpan(at));
        for (long ifd = U32(4), pages = 0; ifd != 0 && ifd + 2 <= file.Length && pages < 100; pages++)
        {
            int count = U16((int)ifd);
            if (ifd + 2 + 12L * count + 4 > file.Length) break;
            for (int i = 0; i < count; i++) positions.Add((int)ifd + 2 + 12 * i);
            ifd = U32((int)ifd + 2 + 12 * count);
        }
        return positions;
    }

    /// <summary>Sets a field inside one chunk's data (IHDR's size, depth and colour type most of the time) to a chosen value.</summary>
    private static byte[] MutatePngChunk(byte[] bytes, Random random)
    {
        var chunks = PngChunks(bytes);
        if (chunks.Count == 0) return bytes;
        var (at, length) = random.Next(3) == 0 ? chunks[0] : chunks[random.Next(chunks.Count)];
        if (length == 0) return bytes;
        int offset = at + 8 + random.Next(length);
        switch (random.Next(3))
        {
            case 0 when offset + 4 <= at + 8 + length:
                Write32(bytes, offset, Pick(random, bytes.Length), bigEndian: true);
                break;
            case 1:
                bytes[offset] = (byte)(random.Next(2) == 0 ? random.Next(256) : new[] { 0, 1, 2, 3, 4, 6, 8, 16, 255 }[random.Next(9)]);
                break;
            default:
                bytes[offset] ^= (byte)random.Next(1, 256);
                break;
        }
        return bytes;
    }

    /// <summary>The (start, data length) of each chunk, as far as the chunk lengths stay inside the file.</summary>
    private static List<(int At, int Length)> PngChunks(byte[] bytes)
    {
        var chunks = new List<(int, int)>();
        for (long at = 8; at + 12 <= bytes.Length;)
        {
            long length = BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan((int)at));
            if (at + 12 + length > bytes.Length) break;
            chunks.Add(((int)at, (int)length));
            at += 12 + length;
        }
        return chunks;
    }

    private static void FixPngCrcs(byte[] bytes)
    {
        foreach (var (at, length) in PngChunks(bytes))
            BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(at + 8 + length), Crc32(bytes.AsSpan(at + 4, length + 4)));
    }

    private static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320 & (uint)-(int)(crc & 1));
        }
        return ~crc;
    }

    /// <summary>Changes a byte or a 16-bit field (sizes, lengths, table entries) inside one marker segment, or drops or doubles a segment.</summary>
    private static byte[] MutateJpegSegment(byte[] bytes, Random random)
    {
        var segments = new List<(int At, int Length)>();
        for (int at = 2; at + 4 <= bytes.Length && bytes[at] == 0xFF;)
        {
            int marker = bytes[at + 1], length = BinaryPrimitives.ReadUInt16BigEndian(bytes.AsSpan(at + 2));
            if (length < 2 || at + 2 + length > bytes.Length) break;
            segments.Add((at, length + 2));
            at += 2 + length;
            if (marker == 0xDA) break; // the scan's entropy-coded data follows
        }
        if (segments.Count == 0) return bytes;
        var (start, size) = segments[random.Next(segments.Count)];
        switch (random.Next(4))
        {
            case 0:
                return [.. bytes[..start], .. bytes[(start + size)..]];
            case 1:
                return [.. bytes[..(start + size)], .. bytes[start..]];
            case 2 when size > 5:
                Write16(bytes, start + 4 + random.Next(size - 5), (ushort)Pick(random, bytes.Length), bigEndian: true);
                return bytes;
            default:
                bytes[start + 2 + random.Next(size - 2)] ^= (byte)random.Next(1, 256);
                return bytes;
        }
    }
}
