using System.IO.Compression;
using UNet.Segmentation.Imaging;

namespace UNet.Segmentation.Tests.Imaging;

/// <summary>Damaged, forged and unsupported files: each gives a TiffFormatException naming the file and the problem.</summary>
public class TiffBadFileTests
{
    private static byte[] Gray8(int width = 6, int height = 4, Action<BuilderPage>? change = null, bool bigEndian = false)
    {
        var page = BuilderPage.Gray(width, height, 8).Strips(new byte[width * height], width, height);
        change?.Invoke(page);
        return new TiffBuilder { BigEndian = bigEndian }.Add(page).Build();
    }

    /// <summary>Reads <paramref name="bytes"/> from a file of that name and returns the exception, checking that it names the file.</summary>
    private static TiffFormatException Fails(byte[] bytes, string name, string? expected = null)
    {
        using var dir = new TempDir();
        string path = dir.File(name);
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<TiffFormatException>(() => Tiff.Read(path));
        Assert.Contains(name, e.Message);
        Assert.Equal(path, e.FilePath);
        if (expected is not null) Assert.Contains(expected, e.Message, StringComparison.OrdinalIgnoreCase);
        return e;
    }

    [Fact]
    public void TruncatedAtEveryLength_FailsCleanly()
    {
        var volume = TestVolumes.Make(TiffSampleFormat.UInt16, 3, 9, 11);
        foreach (var compression in Enum.GetValues<TiffCompression>())
        {
            var whole = TestVolumes.ToBytes(volume, compression);
            for (int length = 0; length < whole.Length; length++)
            {
                string name = $"cut-{compression}-{length}.tif";
                var e = Assert.Throws<TiffFormatException>(() => Tiff.Read(new MemoryStream(whole, 0, length), name));
                Assert.Contains(name, e.Message);
            }
        }
    }

    [Fact]
    public void TruncatedFile_OnDisk_NamesTheFile() =>
        Fails(TestVolumes.ToBytes(TestVolumes.Make(TiffSampleFormat.UInt8, 2, 8, 8))[..150], "cut.tif", "past the end of the file");

    [Fact]
    public void WrongMagic_AndOtherFormats_AreNotTiff()
    {
        var bytes = Gray8();
        bytes[2] = 41;
        Fails(bytes, "magic.tif", "magic number 41");
        Fails("\x89PNG\r\n\x1a\n and more"u8.ToArray(), "image.png", "not a TIFF");
        Fails([], "empty.tif", "too short");
        Fails("II*"u8.ToArray(), "three.tif", "too short");
        Fails("II*\0\0\0"u8.ToArray(), "header.tif", "truncated");
    }

    [Fact]
    public void BigTiff_IsRejectedAsSuch()
    {
        Fails([(byte)'I', (byte)'I', 43, 0, 8, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0], "big.tif", "BigTIFF is not supported");
        Fails([(byte)'M', (byte)'M', 0, 43, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 16], "big-be.tif", "BigTIFF is not supported");
    }

    [Fact]
    public void IfdOffsetPastTheEnd_OrZero_Fails()
    {
        var builder = new TiffBuilder().Add(BuilderPage.Gray(6, 4, 8).Strips(new byte[24], 6, 4));
        var bytes = builder.Build();
        builder.Patch(bytes, 4, bytes.Length + 100);
        Fails(bytes, "far.tif", "past the end");
        builder.Patch(bytes, 4, 0);
        Fails(bytes, "none.tif", "first IFD offset is 0");
        builder.Patch(bytes, 4, builder.IfdOffsets[0]);
        builder.Patch(bytes, builder.NextFieldOffsets[0], uint.MaxValue);
        Fails(bytes, "next.tif", "page 2");
    }

    [Fact]
    public void LoopingIfdChains_AreDetected()
    {
        var builder = new TiffBuilder();
        for (int i = 0; i < 3; i++) builder.Add(BuilderPage.Gray(6, 4, 8).Strips(new byte[24], 6, 4));
        var bytes = builder.Build();
        builder.Patch(bytes, builder.NextFieldOffsets[1], builder.IfdOffsets[0]); // A → B → A
        Fails(bytes, "loop.tif", "loops");
        builder.Patch(bytes, builder.NextFieldOffsets[0], builder.IfdOffsets[0]); // A → A
        var e = Fails(bytes, "self.tif", "loops");
        Assert.Throws<TiffFormatException>(() => Tiff.ReadInfo(new MemoryStream(bytes), "self.tif"));
        Assert.Contains("self.tif", e.Message);
    }

    [Fact]
    public void ChainOfMoreThan100000Pages_IsRefused()
    {
        const int pages = 100_001, ifdBytes = 2 + 12 + 4;
        var bytes = new byte[8 + pages * ifdBytes];
        "II*\0"u8.CopyTo(bytes);
        BitConverter.TryWriteBytes(bytes.AsSpan(4), 8u);
        for (int p = 0; p < pages; p++)
        {
            int at = 8 + p * ifdBytes;
            bytes[at] = 1;                                    // one entry: ImageWidth = 1
            BitConverter.TryWriteBytes(bytes.AsSpan(at + 2), (ushort)256);
            BitConverter.TryWriteBytes(bytes.AsSpan(at + 4), (ushort)3);
            BitConverter.TryWriteBytes(bytes.AsSpan(at + 6), 1u);
            bytes[at + 10] = 1;
            BitConverter.TryWriteBytes(bytes.AsSpan(at + 14), p + 1 < pages ? (uint)(at + ifdBytes) : 0u);
        }
        Fails(bytes, "endless.tif", "more than 100000 pages");
    }

    [Theory]
    [InlineData(1 << 30, 1 << 30)]  // 2^60 pixels
    [InlineData(65536, 32768)]      // 2 GiB exactly
    [InlineData(40000, 40000)]      // 1.6 GB from a few bytes
    [InlineData(1, int.MaxValue)]
    public void AbsurdSizes_InATinyFile_AreRejectedBeforeAllocating(int width, int height)
    {
        var bytes = Gray8(change: p => p.Set(256, TiffBuilder.Long, width).Set(257, TiffBuilder.Long, height).Set(278, TiffBuilder.Long, height));
        Fails(bytes, "forged.tif");
        var deflated = Gray8(change: p => p.Set(256, TiffBuilder.Long, width).Set(257, TiffBuilder.Long, height)
            .Set(278, TiffBuilder.Long, height).Set(259, TiffBuilder.Short, 8));
        Fails(deflated, "forged-zip.tif");
    }

    [Fact]
    public void ManyForgedPagesSharingOneStrip_AreRejectedBeforeAllocating()
    {
        // Each page alone is plausible (1 MB from a 1000-byte Deflate strip), but all 2000 share that
        // strip: 2 GB of pixels cannot come from a file of ~250 KB.
        var builder = new TiffBuilder();
        for (int i = 0; i < 2000; i++)
        {
            var page = BuilderPage.Gray(1000, 1000, 8, compression: 8);
            if (i == 0) page.Chunks.Add(new byte[1000]);
            else page.Set(273, TiffBuilder.Long, 8).Set(279, TiffBuilder.Long, 1000);
            builder.Add(page);
        }
        var bytes = builder.Build();
        Assert.Single(Tiff.ReadInfo(new MemoryStream(bytes), "one.tif").Take(1)); // the structure itself is valid
        Fails(bytes, "pages.tif", "more than a");
    }

    [Fact]
    public void StripPastTheEnd_IsRejected()
    {
        Fails(Gray8(change: p => p.Set(273, TiffBuilder.Long, 100_000)), "offset.tif", "strip 0 of page 1");
        Fails(Gray8(change: p => p.Set(279, TiffBuilder.Long, 100_000)), "count.tif", "past the end of the file");
        Fails(Gray8(change: p => p.Set(279, TiffBuilder.Long, 0)), "empty-strip.tif", "empty");
        Fails(Gray8(change: p => p.Set(279, TiffBuilder.Long, 10)), "short-strip.tif", "strip 0");
    }

    [Fact]
    public void FewerStripOffsetsThanStrips_IsRejected() =>
        Fails(Gray8(change: p => p.Set(278, TiffBuilder.Long, 1)), "offsets.tif", "StripOffsets has 1 values but the page needs 4");

    [Theory]
    [InlineData(7, "JPEG")]
    [InlineData(6, "old-style JPEG")]
    [InlineData(4, "Group 4")]
    [InlineData(34712, "JPEG 2000")]
    [InlineData(50000, "Zstandard")]
    [InlineData(12345, "compression 12345")]
    public void UnsupportedCompression_IsNamed(int code, string expected) =>
        Fails(Gray8(change: p => p.Set(259, TiffBuilder.Short, code)), $"c{code}.tif", expected);

    [Fact]
    public void Rgb_IsRejected()
    {
        var page = BuilderPage.Gray(4, 2, 8).Set(258, TiffBuilder.Short, 8, 8, 8).Set(262, TiffBuilder.Short, 2).Set(277, TiffBuilder.Short, 3)
            .Strips(new byte[24], 12, 2);
        var e = Fails(new TiffBuilder().Add(page).Build(), "rgb.tif", "RGB");
        Assert.Contains("SamplesPerPixel is 3", e.Message);
        Fails(Gray8(change: p => p.Set(262, TiffBuilder.Short, 3)), "palette.tif", "palette");
    }

    [Theory]
    [InlineData(12, 1, "12-bit")]
    [InlineData(1, 1, "1-bit")]
    [InlineData(32, 1, "32-bit integer")]
    [InlineData(16, 2, "signed")]
    [InlineData(64, 3, "64-bit float")]
    [InlineData(16, 3, "16-bit float")]
    public void UnsupportedSampleTypes_AreNamed(int bits, int sampleFormat, string expected) =>
        Fails(Gray8(change: p => p.Set(258, TiffBuilder.Short, bits).Set(339, TiffBuilder.Short, sampleFormat)), $"b{bits}-{sampleFormat}.tif", expected);

    [Fact]
    public void MissingOrWrongTags_AreNamed()
    {
        Fails(Gray8(change: p => p.Remove(256)), "nowidth.tif", "ImageWidth tag is missing");
        Fails(Gray8(change: p => p.Set(257, TiffBuilder.Long, 0)), "zero.tif", "ImageLength is 0");
        Fails(Gray8(change: p => p.Set(256, TiffBuilder.Rational, 6)), "rational.tif", "not an integer type");
        Fails(Gray8(change: p => { p.Set(259, TiffBuilder.Short, 5); p.AutoByteCounts = false; }), "nocounts.tif", "StripByteCounts tag is missing");
        Fails(Gray8(change: p => p.Set(317, TiffBuilder.Short, 3)), "p3.tif", "Predictor 3");
        Fails(Gray8(change: p => p.Set(262, TiffBuilder.Short, 0).Set(258, TiffBuilder.Short, 32).Set(339, TiffBuilder.Short, 3)), "wiz.tif", "WhiteIsZero");
    }

    [Fact]
    public void DamagedCompressedData_IsReportedWithItsStrip()
    {
        var garbage = Enumerable.Range(0, 40).Select(i => (byte)(i * 37 + 11)).ToArray();
        var e = Fails(Gray8(change: p => { p.Set(259, TiffBuilder.Short, 8); p.Chunks[0] = garbage; }), "zip.tif", "strip 0 of page 1");
        Assert.True(e.InnerException is null or TiffFormatException || e.InnerException.GetType().Name == "TiffCodecException", e.ToString());
        var shortZip = Deflate(new byte[10]); // valid zlib, too little data
        Fails(Gray8(change: p => { p.Set(259, TiffBuilder.Short, 8); p.Chunks[0] = shortZip; }), "short.tif", "decompressed to 10 bytes but 24 are needed");
        Fails(Gray8(change: p => { p.Set(259, TiffBuilder.Short, 5); p.Chunks[0] = [0xFF, 0xFF, 0xFF, 0xFF]; }), "lzw.tif", "LZW");
        Fails(Gray8(change: p => { p.Set(259, TiffBuilder.Short, 5); p.Chunks[0] = [0, 1, 2, 3]; }), "oldlzw.tif", "old-style");
        Fails(Gray8(change: p => { p.Set(259, TiffBuilder.Short, 32773); p.Chunks[0] = [100, 1, 2]; }), "packbits.tif", "PackBits");
    }

    [Fact]
    public void PagesOfDifferentSizes_AreRejected()
    {
        var bytes = new TiffBuilder()
            .Add(BuilderPage.Gray(6, 4, 8).Strips(new byte[24], 6, 4))
            .Add(BuilderPage.Gray(4, 6, 8).Strips(new byte[24], 4, 6)).Build();
        Fails(bytes, "mixed.tif", "page 2 is 4x6");
    }

    internal static byte[] Deflate(byte[] data)
    {
        using var buffer = new MemoryStream();
        using (var zlib = new ZLibStream(buffer, CompressionLevel.Optimal, leaveOpen: true)) zlib.Write(data);
        return buffer.ToArray();
    }
}
