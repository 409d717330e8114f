using System.Buffers.Binary;
using UNet.Segmentation.Imaging.Nifti;
using static UNet.Segmentation.Tests.Imaging.Nifti.NiftiTestFiles;

namespace UNet.Segmentation.Tests.Imaging.Nifti;

/// <summary>
/// 20,000 seeded mutations of valid NIfTI files (NIfTI-1 and NIfTI-2, both byte orders, with an
/// extension, plain and gzipped): flipped bytes and bits (mostly in the header), truncations at
/// every kind of offset, header fields forged with sizes that would allocate gigabytes, bad magic,
/// gzipped files cut or damaged, and headers forged inside a gzip stream. Each is read from a
/// seekable stream and, one in four, from one that cannot seek: it either reads, with as many
/// voxels as its shape says, or fails with <see cref="NiftiFormatException"/> naming it; never
/// another exception, and never more memory than a bound set by the file's own size.
/// </summary>
public class NiftiMutationTests(ITestOutputHelper output)
{
    private const int Mutations = 20_000;

    private static readonly long[] Interesting =
        [0, 1, -1, 2, 3, 4, 5, 7, 8, 16, 255, 256, 348, 352, 540, 544, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 1290, 100_000, int.MaxValue, int.MinValue, 1L << 40, long.MaxValue];

    /// <summary>(offset, size) of the fields a forger would pick: sizeof_hdr, dim, datatype, bitpix, vox_offset, scl_slope.</summary>
    private static readonly (int At, int Size)[] Nifti1Fields = [(0, 4), (40, 2), (42, 2), (44, 2), (46, 2), (48, 2), (70, 2), (72, 2), (108, 4), (112, 4), (344, 4), (348, 4)];

    private static readonly (int At, int Size)[] Nifti2Fields = [(0, 4), (4, 8), (12, 2), (14, 2), (16, 8), (24, 8), (32, 8), (40, 8), (48, 8), (168, 8), (176, 8)];

    private sealed record Base(string Name, byte[] Plain, bool Gzipped);

    [Fact]
    public void MutatedFiles_ReadOrGiveOurTypedException_WithinBoundedMemory()
    {
        var bases = BaseFiles();
        var outcomes = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var failures = new List<string>();
        for (int i = 0; i < Mutations; i++)
        {
            TestContext.Current.CancellationToken.ThrowIfCancellationRequested();
            var random = new Random(26_000 + i);
            var original = bases[i % bases.Count];
            byte[] mutant = Mutate(original, random);
            string label = $"{original.Name}#{i}";
            bool seekable = i % 4 != 0;
            string outcome = ReadOne(mutant, label, seekable, failures);
            string key = $"{(original.Gzipped ? "gz" : "nii")}: {outcome}";
            outcomes[key] = outcomes.GetValueOrDefault(key) + 1;
        }
        foreach (var (key, count) in outcomes) output.WriteLine($"{count,6}  {key}");
        Assert.True(failures.Count == 0, $"{failures.Count} failures:\n" + string.Join("\n", failures.Take(10)));
        Assert.True(outcomes.Keys.Count(k => k.EndsWith(": read")) == 2 && outcomes.Keys.Count(k => k.Contains("NiftiFormatException")) >= 2,
            "both outcomes, for plain and gzipped files: " + string.Join(", ", outcomes.Keys));
    }

    private static string ReadOne(byte[] mutant, string label, bool seekable, List<string> failures)
    {
        bool gzipped = mutant.Length >= 2 && mutant[0] == 0x1f && mutant[1] == 0x8b;
        // what the reader may hold at once: the voxels of a plain file are no more than its bytes (twice when gathered
        // in pieces); a gzipped file inflates at most 1033-fold; the rest is buffers
        long bound = (16L << 20) + (long)mutant.Length * (gzipped ? 2 * 1033 : 4);
        Stream stream = seekable ? new MemoryStream(mutant) : new Trickle(mutant);
        long before = GC.GetAllocatedBytesForCurrentThread();
        string outcome;
        try
        {
            var image = NiftiFile.Read(stream, label);
            long voxels = image.Shape.Aggregate(1L, (p, s) => p * s);
            if (voxels != image.VoxelCount || image.Data.GetType().GetElementType() != NiftiDataTypes.ElementType(image.DataType))
                failures.Add($"{label}: the image's array does not match its shape or type");
            outcome = "read";
        }
        catch (NiftiFormatException e)
        {
            if (e.FilePath != label || !e.Message.Contains($"'{label}'") || e.Message.Contains('\n'))
                failures.Add($"{label}: the message is not one line naming the file: {e.Message}");
            outcome = e.InnerException is null ? "NiftiFormatException" : $"NiftiFormatException ({e.InnerException.GetType().Name} inside)";
        }
        catch (Exception e)
        {
            failures.Add($"{label}: {e.GetType().Name}: {e.Message}\n  {e.StackTrace?.Split('\n').FirstOrDefault()}");
            outcome = e.GetType().Name;
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        if (allocated > bound) failures.Add($"{label}: {allocated} bytes allocated for a {mutant.Length}-byte file (bound {bound})");
        return outcome;
    }

    private static List<Base> BaseFiles()
    {
        var files = new List<Base>();
        var v1 = ToBytes(new NiftiImage(RichHeader(NiftiVersion.Nifti1, 6, 5, 4), Voxels(NiftiDataType.Int16, 120, seed: 1)));
        var v2 = ToBytes(new NiftiImage(RichHeader(NiftiVersion.Nifti2, 4, 3, 5, 2), Voxels(NiftiDataType.Float32, 120, seed: 2)));
        var bytes = ToBytes(NiftiImage.Create(Enumerable.Range(0, 105).Select(i => (byte)i).ToArray(), 7, 5, 3));
        var doubles = ToBytes(new NiftiImage(RichHeader(NiftiVersion.Nifti2, 3, 3, 3), Voxels(NiftiDataType.Float64, 27, seed: 3)));
        var extended = WithExtension(v1, "a comment extension for the mutation test");
        foreach (var (name, plain) in new[] { ("v1-i16", v1), ("v2-f32-4d", v2), ("v1-u8", bytes), ("v2-f64", doubles), ("v1-extension", extended),
                     ("v1-be", ToBigEndian(v1)), ("v2-be", ToBigEndian(v2)), ("v1-be-extension", ToBigEndian(extended)) })
        {
            files.Add(new(name + ".nii", plain, false));
            if (name is "v1-i16" or "v2-f32-4d" or "v1-be") files.Add(new(name + ".nii.gz", plain, true));
        }
        return files;
    }

    private static byte[] Mutate(Base original, Random random)
    {
        if (!original.Gzipped) return MutatePlain(original.Plain, random);
        return random.Next(3) switch
        {
            0 => Gzip(MutatePlain(original.Plain, random)), // a forged header inside a valid gzip stream
            1 => Cut(Gzip(original.Plain), random), // cut anywhere
            _ => MutateBytes(Gzip(original.Plain), random, header: 10), // damaged compressed bytes
        };
    }

    private static byte[] Cut(byte[] bytes, Random random) => bytes[..random.Next(bytes.Length)];

    private static byte[] MutatePlain(byte[] plain, Random random)
    {
        bool v1 = plain[0] == 0x5C || plain[3] == 0x5C;
        bool big = plain[0] == 0;
        var fields = v1 ? Nifti1Fields : Nifti2Fields;
        var bytes = (byte[])plain.Clone();
        for (int steps = 1 + random.Next(3); steps > 0; steps--)
        {
            switch (random.Next(6))
            {
                case 0: // forge a field a reader trusts
                    var (at, size) = fields[random.Next(fields.Length)];
                    if (at + size > bytes.Length) break;
                    long value = Interesting[random.Next(Interesting.Length)];
                    var span = bytes.AsSpan(at, size);
                    switch (size)
                    {
                        case 2: if (big) BinaryPrimitives.WriteInt16BigEndian(span, (short)value); else BinaryPrimitives.WriteInt16LittleEndian(span, (short)value); break;
                        case 4 when at is 108 or 112: float f = random.Next(3) switch { 0 => float.NaN, 1 => -value, _ => value + 0.5f }; if (big) BinaryPrimitives.WriteSingleBigEndian(span, f); else BinaryPrimitives.WriteSingleLittleEndian(span, f); break;
                        case 4: if (big) BinaryPrimitives.WriteInt32BigEndian(span, (int)value); else BinaryPrimitives.WriteInt32LittleEndian(span, (int)value); break;
                        default: if (big) BinaryPrimitives.WriteInt64BigEndian(span, value); else BinaryPrimitives.WriteInt64LittleEndian(span, value); break;
                    }
                    break;
                case 1: // truncate
                    bytes = bytes[..random.Next(bytes.Length)];
                    if (bytes.Length < 8) return bytes;
                    break;
                case 2: // bad magic
                    int magic = (v1 ? 344 : 4) + random.Next(v1 ? 4 : 8);
                    if (magic < bytes.Length) bytes[magic] ^= (byte)random.Next(1, 256);
                    break;
                default:
                    bytes = MutateBytes(bytes, random, header: v1 ? 352 : 544);
                    break;
            }
        }
        return bytes;
    }

    /// <summary>Flips a few bytes or bits, three times in four inside the first <paramref name="header"/> bytes.</summary>
    private static byte[] MutateBytes(byte[] bytes, Random random, int header)
    {
        bytes = (byte[])bytes.Clone();
        for (int k = random.Next(1, 5); k > 0; k--)
        {
            int at = random.Next(4) > 0 ? random.Next(Math.Min(header, bytes.Length)) : random.Next(bytes.Length);
            bytes[at] ^= random.Next(2) == 0 ? (byte)(1 << random.Next(8)) : (byte)random.Next(1, 256);
        }
        return bytes;
    }
}
