using System.Buffers.Binary;
using UNet.Segmentation.Imaging;
using UNet.Segmentation.Imaging.Nifti;
using static UNet.Segmentation.Tests.Imaging.Nifti.NiftiTestFiles;

namespace UNet.Segmentation.Tests.Imaging.Nifti;

/// <summary>
/// Damaged, truncated, forged and unsupported files: each fails with <see cref="NiftiFormatException"/>
/// whose message is one line naming the file and the problem, and none allocates more than the
/// file could hold.
/// </summary>
public class NiftiBadFileTests
{
    /// <summary>Far below what the forged headers claim (gigabytes), far above what the files hold.</summary>
    private const long AllocationBound = 32 << 20;

    private static byte[] Nifti1() => ToBytes(new NiftiImage(RichHeader(NiftiVersion.Nifti1, 6, 5, 4), Voxels(NiftiDataType.Int16, 120, seed: 1)));

    private static byte[] Nifti2() => ToBytes(new NiftiImage(RichHeader(NiftiVersion.Nifti2, 6, 5, 4), Voxels(NiftiDataType.Float32, 120, seed: 2)));

    private static byte[] Edit(byte[] file, Action<byte[]> edit)
    {
        var copy = (byte[])file.Clone();
        edit(copy);
        return copy;
    }

    private static NiftiFormatException Refused(byte[] bytes, string problem, bool seekable = true)
    {
        const string name = "bad/file.nii";
        Stream stream = seekable ? new MemoryStream(bytes) : new Trickle(bytes);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<NiftiFormatException>(() => NiftiFile.Read(stream, name));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < AllocationBound, $"{allocated} bytes allocated for {e.Message}");
        Assert.IsAssignableFrom<ImageFormatException>(e);
        Assert.Equal(name, e.FilePath);
        Assert.StartsWith($"NIfTI file '{name}': ", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains(problem, e.Problem);
        return e;
    }

    public static TheoryData<string> Cases() =>
    [
        "empty", "3 bytes", "sizeof_hdr 349", "cut in the header", "NIfTI-2 cut in the header", "bad magic", "pair magic", "NIfTI-2 pair magic",
        "NIfTI-2 line endings", "ANALYZE 7.5", "complex64", "RGB24", "float128", "datatype 0", "binary", "dim[0] 0", "dim[0] 5", "dim[0] -1", "dim[2] 0",
        "dim[3] -4", "NIfTI-2 dims 2^40", "NIfTI-2 dim[1] 2^62", "8 GiB claimed", "vox_offset NaN", "vox_offset -1", "vox_offset inside the header",
        "vox_offset 352.5", "vox_offset 1e30", "NIfTI-2 vox_offset -5", "NIfTI-2 vox_offset 2^62", "one voxel byte short", "vox_offset past the end",
    ];

    [Theory]
    [MemberData(nameof(Cases))]
    public void BadFiles_FailWithOneLineNamingFileAndProblem(string name)
    {
        byte[] v1 = Nifti1(), v2 = Nifti2();
        var (bytes, problem) = name switch
        {
            "empty" => ([], "0 bytes, too short"),
            "3 bytes" => (v1[..3], "3 bytes, too short"),
            "sizeof_hdr 349" => (Edit(v1, b => b[0] = 93), "not a NIfTI file: sizeof_hdr is 349"),
            "cut in the header" => (v1[..200], "ends after 200 bytes, inside the 348-byte header"),
            "NIfTI-2 cut in the header" => (v2[..539], "ends after 539 bytes, inside the 540-byte header"),
            "bad magic" => (Edit(v1, b => b[346] = (byte)'3'), "the magic is 6E2B3300, not NIfTI-1's 6E2B3100"),
            "pair magic" => (Edit(v1, b => b[345] = (byte)'i'), "a NIfTI-1 header of a .hdr/.img pair"),
            "NIfTI-2 pair magic" => (Edit(v2, b => b[5] = (byte)'i'), "a NIfTI-2 header of a .hdr/.img pair"),
            "NIfTI-2 line endings" => (Edit(v2, b => b[8] = (byte)'\n'), "line-ending check bytes are 0A0A1A0A"),
            "ANALYZE 7.5" => (Edit(v1, b => b.AsSpan(344, 4).Clear()), "the magic is 00000000"),
            "complex64" => (Edit(v1, b => b[70] = 32), "datatype 32 (DT_COMPLEX64) is not supported"),
            "RGB24" => (Edit(v2, b => b[12] = 128), "datatype 128 (DT_RGB24) is not supported"),
            "float128" => (Edit(v1, b => BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(70), 1536)), "datatype 1536 (DT_FLOAT128)"),
            "datatype 0" => (Edit(v1, b => BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(70), 0)), "datatype 0 (DT_UNKNOWN)"),
            "binary" => (Edit(v1, b => BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(70), 1)), "datatype 1 (DT_BINARY)"),
            "dim[0] 0" => (Edit(v1, b => b[40] = 0), "dim[0] is 0: an image needs 1 to 4 dimensions"),
            "dim[0] 5" => (Edit(v1, b => b[40] = 5), "dim[0] is 5: images of more than 4 dimensions"),
            "dim[0] -1" => (Edit(v1, b => BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(40), -1)), "dim[0] is -1"),
            "dim[2] 0" => (Edit(v1, b => BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(44), 0)), "dim[2] is 0: every dimension needs at least 1 voxel"),
            "dim[3] -4" => (Edit(v2, b => BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(40), -4)), "dim[3] is -4"),
            "NIfTI-2 dims 2^40" => (Edit(v2, b => { for (int i = 1; i <= 3; i++) BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(16 + 8 * i), 1L << 40); }), "more voxels than one array can hold"),
            "NIfTI-2 dim[1] 2^62" => (Edit(v2, b => BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(24), 1L << 62)), "more voxels than one array can hold"),
            "8 GiB claimed" => (Edit(v2, b => { for (int i = 1; i <= 3; i++) BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(16 + 8 * i), 1280); }), "shorter than the"),
            "vox_offset NaN" => (Edit(v1, b => BinaryPrimitives.WriteSingleLittleEndian(b.AsSpan(108), float.NaN)), "vox_offset is NaN"),
            "vox_offset -1" => (Edit(v1, b => BinaryPrimitives.WriteSingleLittleEndian(b.AsSpan(108), -1)), "vox_offset is -1, inside the 348-byte header"),
            "vox_offset inside the header" => (Edit(v1, b => BinaryPrimitives.WriteSingleLittleEndian(b.AsSpan(108), 100)), "vox_offset is 100, inside"),
            "vox_offset 352.5" => (Edit(v1, b => BinaryPrimitives.WriteSingleLittleEndian(b.AsSpan(108), 352.5f)), "vox_offset is 352.5, not a usable byte offset"),
            "vox_offset 1e30" => (Edit(v1, b => BinaryPrimitives.WriteSingleLittleEndian(b.AsSpan(108), 1e30f)), "not a usable byte offset"),
            "NIfTI-2 vox_offset -5" => (Edit(v2, b => BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(168), -5)), "vox_offset is -5, negative"),
            "NIfTI-2 vox_offset 2^62" => (Edit(v2, b => BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(168), 1L << 62)), "not a usable byte offset"),
            "one voxel byte short" => (v1[..^1], $"the file is {v1.Length - 1} bytes, shorter than the {v1.Length} its header needs (240 bytes of voxels at vox_offset 352)"),
            "vox_offset past the end" => (Edit(v1, b => BinaryPrimitives.WriteSingleLittleEndian(b.AsSpan(108), 4096)), "shorter than the 4336"),
            _ => throw new ArgumentOutOfRangeException(nameof(name), name, null),
        };
        Refused(bytes, problem);
        if (bytes.Length > 0) Refused(Gzip(bytes), problem.Contains("shorter than") ? "" : problem);
        Refused(bytes, problem.Contains("shorter than") ? "ends after" : problem, seekable: false);
        if (bytes.Length >= 348 && !problem.Contains("shorter than"))
            Assert.Throws<NiftiFormatException>(() => NiftiFile.ReadHeader(new MemoryStream(bytes), "header only"));
    }

    [Fact]
    public void ForgedSizes_InAGzippedFile_AreRefusedBeforeAllocating()
    {
        var forged = Edit(Nifti2(), b => { for (int i = 1; i <= 3; i++) BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(16 + 8 * i), 1280); });
        var gzip = Gzip(forged);
        Refused(gzip, $"its header places {1280L * 1280 * 1280 * 4} bytes of voxels at vox_offset 544, more than a {gzip.Length}-byte gzip stream can hold");
        Refused(gzip, "ends after", seekable: false); // gathered in pieces: only what arrives is held
    }

    [Fact]
    public void TruncatedGzipStreams_AreRefused_WhereverTheyAreCut()
    {
        byte[] plain = Nifti1(), gzip = Gzip(plain);
        for (int cut = 1; cut < gzip.Length; cut += cut < 24 || cut > gzip.Length - 24 ? 1 : 37)
        {
            var e = Refused(gzip[..cut], "");
            Assert.Matches("gzip|too short|ends after|inside the", e.Problem);
        }
        // cut inside the 8-byte trailer: every voxel arrived, but the stream is incomplete
        Refused(gzip[..^3], "the gzip trailer gives");
        Assert.Equal(Voxels(NiftiDataType.Int16, 120, seed: 1), NiftiFile.Read(new MemoryStream(gzip), "whole").Data);
    }

    [Fact]
    public void DamagedGzipData_IsRefused()
    {
        byte[] gzip = Gzip(Nifti2());
        var crc = Edit(gzip, b => b[^6] ^= 0x40);
        Refused(crc, "the gzip stream is damaged");
        int failures = 0;
        for (int at = 10; at < gzip.Length - 8; at += 5)
        {
            var flipped = Edit(gzip, b => b[at] ^= 0x10);
            try
            {
                NiftiFile.Read(new MemoryStream(flipped), "flipped");
            }
            catch (NiftiFormatException)
            {
                failures++;
            }
        }
        Assert.True(failures > 0);
    }

    [Fact]
    public void Bgzf_SeveralMembers_Read_AndTheirEndMarkerIsRequired()
    {
        // BGZF (htslib's bgzip): gzip members with a "BC" extra field, then an empty end-of-file member
        byte[] plain = Nifti1();
        var file = new List<byte>();
        foreach (var part in new[] { plain[..200], plain[200..] }) file.AddRange(BgzfBlock(part));
        byte[] eof = [0x1f, 0x8b, 0x08, 0x04, 0, 0, 0, 0, 0, 0xff, 0x06, 0, 0x42, 0x43, 0x02, 0, 0x1b, 0, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        file.AddRange(eof);
        byte[] bgzf = [.. file];
        Assert.Equal(Voxels(NiftiDataType.Int16, 120, seed: 1), NiftiFile.Read(new MemoryStream(bgzf), "bgzf").Data);
        Refused(bgzf[..^eof.Length], "BGZF stream lacks its end-of-file block");

        // plain concatenated members are not supported: the trailer check cannot tell them from a cut
        byte[] concatenated = [.. Gzip(plain[..200]), .. Gzip(plain[200..])];
        Refused(concatenated, "several gzip members");
    }

    private static byte[] BgzfBlock(byte[] data)
    {
        byte[] member = Gzip(data); // 10-byte header, deflate data, 8-byte trailer
        byte[] deflate = member[10..^8];
        int blockSize = 18 + deflate.Length + 8 - 1;
        byte[] header = [0x1f, 0x8b, 0x08, 0x04, 0, 0, 0, 0, 0, 0xff, 0x06, 0, 0x42, 0x43, 0x02, 0, (byte)blockSize, (byte)(blockSize >> 8)];
        return [.. header, .. deflate, .. member[^8..]];
    }

    [Fact]
    public void MissingFiles_AreNotFormatErrors()
    {
        using var dir = new TempDir();
        Assert.Throws<FileNotFoundException>(() => NiftiFile.Read(dir.File("missing.nii")));
    }

    [Fact]
    public void ReadHeader_NeedsNoVoxels()
    {
        byte[] v1 = Nifti1();
        var header = NiftiFile.ReadHeader(new MemoryStream(v1[..352]), "header only");
        Assert.Equal(new long[] { 3, 6, 5, 4, 1, 1, 1, 5 }, header.Dim);
        Assert.Equal("rich header: every field set", header.Description);
        Refused(v1[..352], "the file is 352 bytes, shorter than the 592 its header needs");
    }
}
