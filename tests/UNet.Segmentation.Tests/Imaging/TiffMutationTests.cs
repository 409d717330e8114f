using System.Buffers.Binary;
using UNet.Segmentation.Imaging;
using Xunit.Abstractions;

namespace UNet.Segmentation.Tests.Imaging;

/// <summary>
/// Thousands of seeded mutations of valid files (bit flips, truncations, splices, forged 2- and 4-byte
/// fields, forged IFD entries): the reader either succeeds or throws <see cref="TiffFormatException"/>
/// naming the file.
/// </summary>
public class TiffMutationTests(ITestOutputHelper output)
{
    private const int MutationsPerFile = 2000;
    private static readonly uint[] Interesting = [0, 1, 2, 7, 8, 255, 256, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 1 << 30, 100_000];

    [Fact]
    public void MutatedFiles_GiveOnlyTiffFormatExceptions()
    {
        var bases = BaseFiles();
        int mutations = 0, succeeded = 0;
        var failures = new List<string>();
        for (int b = 0; b < bases.Count; b++)
        {
            var (name, original) = bases[b];
            var entries = EntryPositions(original);
            var random = new Random(1000 + b);
            for (int i = 0; i < MutationsPerFile; i++)
            {
                var mutant = Mutate(original, bases[random.Next(bases.Count)].Bytes, entries, random);
                mutations++;
                string label = $"{name}#{i}";
                try
                {
                    if (i % 4 == 0) Tiff.ReadInfo(new MemoryStream(mutant), label);
                    var volume = Tiff.Read(new MemoryStream(mutant), label);
                    Assert.Equal((long)volume.PageCount * volume.PixelsPerPage, TestVolumes.RawBytes(volume).Length / volume.BytesPerSample);
                    succeeded++;
                }
                catch (TiffFormatException e)
                {
                    if (!e.Message.Contains(label)) failures.Add($"{label}: message does not name the file: {e.Message}");
                }
                catch (Exception e)
                {
                    failures.Add($"{label}: {e.GetType().Name}: {e.Message}\n  inner: {e.InnerException}");
                }
            }
        }
        output.WriteLine($"{bases.Count} base files, {mutations} mutations, {succeeded} still readable, {failures.Count} failures");
        Assert.True(mutations >= 5000, $"only {mutations} mutations");
        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(10)));
    }

    private List<(string Name, byte[] Bytes)> BaseFiles()
    {
        var files = new List<(string, byte[])>
        {
            ("u8-none", TestVolumes.ToBytes(TestVolumes.Make(TiffSampleFormat.UInt8, 3, 12, 17))),
            ("u16-lzw", TestVolumes.ToBytes(TestVolumes.Make(TiffSampleFormat.UInt16, 2, 9, 13), TiffCompression.Lzw)),
            ("f32-deflate", TestVolumes.ToBytes(TestVolumes.Make(TiffSampleFormat.Float32, 2, 8, 11), TiffCompression.Deflate)),
            ("u8-packbits", TestVolumes.ToBytes(TestVolumes.Make(TiffSampleFormat.UInt8, 2, 10, 30), TiffCompression.PackBits)),
        };
        var builder = new TiffBuilder { BigEndian = true };
        var tiled = BuilderPage.Gray(20, 18, 16).Remove(278).Set(322, TiffBuilder.Short, 16).Set(323, TiffBuilder.Short, 16);
        tiled.Tiled = true;
        for (int t = 0; t < 4; t++) tiled.Chunks.Add(builder.Samples(Enumerable.Range(0, 256).Select(i => (ushort)(i * 97 + t)).ToArray()));
        var predicted = BuilderPage.Gray(20, 18, 16, compression: 8, rowsPerStrip: 5).Set(317, TiffBuilder.Short, 2)
            .Strips(builder.Samples(Enumerable.Range(0, 360).Select(i => (ushort)(i % 7)).ToArray()), 40, 5, TiffBadFileTests.Deflate);
        files.Add(("be-tiles-deflate-predictor", builder.Add(tiled).Add(predicted).Build()));

        if (ExternalTools.Find("tiffcp") is null)
        {
            output.WriteLine("tiffcp not found: mutating only files made by our writer and the test builder");
            return files;
        }
        using var dir = new TempDir();
        string source = dir.File("source.tif");
        Tiff.Write(source, TestVolumes.Make(TiffSampleFormat.UInt16, 2, 20, 35));
        string[][] variants = [["-t", "-w", "16", "-l", "16", "-c", "lzw:2"], ["-B", "-c", "zip:2"], ["-B", "-t", "-w", "16", "-l", "16", "-c", "packbits"], ["-r", "3", "-c", "lzw"]];
        foreach (var variant in variants)
        {
            string target = dir.File("variant.tif");
            ExternalTools.RunOk("tiffcp", [.. variant, source, target]);
            files.Add(("tiffcp " + string.Join(' ', variant), File.ReadAllBytes(target)));
        }
        return files;
    }

    private static byte[] Mutate(byte[] original, byte[] other, List<int> entries, Random random)
    {
        var bytes = (byte[])original.Clone();
        int steps = 1 + random.Next(3);
        for (int s = 0; s < steps && bytes.Length > 8; s++)
        {
            switch (random.Next(7))
            {
                case 0: // flip a few bytes
                    for (int k = random.Next(1, 5); k > 0; k--) bytes[random.Next(bytes.Length)] ^= (byte)random.Next(1, 256);
                    break;
                case 1: // truncate
                    bytes = bytes[..random.Next(bytes.Length)];
                    break;
                case 2: // splice a block from this or another file
                    int length = random.Next(1, 65), from = random.Next(Math.Max(1, other.Length - length)), to = random.Next(Math.Max(1, bytes.Length - length));
                    other.AsSpan(from, Math.Min(length, other.Length - from)).TryCopyTo(bytes.AsSpan(to));
                    break;
                case 3: // a 4-byte field anywhere
                    Write32(bytes, random.Next(bytes.Length - 3), Pick(random, bytes.Length), original);
                    break;
                case 4: // a 2-byte field anywhere
                    Write16(bytes, random.Next(bytes.Length - 1), (ushort)Pick(random, bytes.Length), original);
                    break;
                case 5: // an IFD entry's type, count or value
                    if (entries.Count == 0) break;
                    int entry = entries[random.Next(entries.Count)];
                    int field = random.Next(3);
                    if (entry + 12 > bytes.Length) break;
                    if (field == 0) Write16(bytes, entry + 2, (ushort)random.Next(0, 14), original);
                    else Write32(bytes, entry + (field == 1 ? 4 : 8), Pick(random, bytes.Length), original);
                    break;
                default: // insert or delete a block, shifting everything after it
                    int at = random.Next(bytes.Length), size = random.Next(1, 32);
                    bytes = random.Next(2) == 0
                        ? [.. bytes[..at], .. Enumerable.Range(0, size).Select(_ => (byte)random.Next(256)), .. bytes[at..]]
                        : [.. bytes[..at], .. bytes[Math.Min(bytes.Length, at + size)..]];
                    break;
            }
        }
        return bytes;
    }

    private static uint Pick(Random random, int length) => random.Next(4) switch
    {
        0 => (uint)random.Next(),
        1 => (uint)(length + random.Next(-4, 5)),
        _ => Interesting[random.Next(Interesting.Length)],
    };

    private static bool BigEndian(byte[] original) => original[0] == 'M';

    private static void Write32(byte[] bytes, int at, uint value, byte[] original)
    {
        if (BigEndian(original)) BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(at), value);
        else BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(at), value);
    }

    private static void Write16(byte[] bytes, int at, ushort value, byte[] original)
    {
        if (BigEndian(original)) BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(at), value);
        else BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(at), value);
    }

    /// <summary>Where every IFD entry of a valid file starts (a test-side walk of the chain).</summary>
    private static List<int> EntryPositions(byte[] file)
    {
        bool big = BigEndian(file);
        uint U32(int at) => big ? BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan(at)) : BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(at));
        ushort U16(int at) => big ? BinaryPrimitives.ReadUInt16BigEndian(file.AsSpan(at)) : BinaryPrimitives.ReadUInt16LittleEndian(file.AsSpan(at));
        var positions = new List<int>();
        for (int ifd = (int)U32(4), pages = 0; ifd != 0 && pages < 100; pages++)
        {
            int count = U16(ifd);
            for (int i = 0; i < count; i++) positions.Add(ifd + 2 + 12 * i);
            ifd = (int)U32(ifd + 2 + 12 * count);
        }
        return positions;
    }
}
