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

    /// <summary>
    /// Reads <paramref name="bytes"/> from a file of that name and returns the exception, checking that
    /// it names the file and, when <paramref name="page"/> is given, the page.
    /// </summary>
    private static TiffFormatException Fails(byte[] bytes, string name, string? expected = null, int? page = 1)
    {
        using var dir = new TempDir();
        string path = dir.File(name);
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<TiffFormatException>(() => Tiff.Read(path));
        Assert.True(e.Message.Contains(name) && e.FilePath == path, e.Message);
        Assert.True(e.Page == page && (page is null || e.Message.Contains($"page {page}: ")), $"page {page} expected: {e.Message}");
        if (expected is not null) Assert.True(e.Message.Contains(expected, StringComparison.OrdinalIgnoreCase), $"'{expected}' expected: {e.Message}");
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
    public void TruncatedFile_OnDisk_NamesTheFileAndPage() =>
        Fails(TestVolumes.ToBytes(TestVolumes.Make(TiffSampleFormat.UInt8, 2, 8, 8))[..150], "cut.tif", "directory");

    [Fact]
    public void LinkToTheNextPageCutOff_IsNotTakenForTheLastPage()
    {
        // LibTiff.NET reads a next-IFD field cut short by the end of the file as "no further page";
        // the reader must not hand back fewer pages than the file has.
        var builder = new TiffBuilder();
        for (int i = 0; i < 2; i++) builder.Add(BuilderPage.Gray(6, 4, 8).Strips(new byte[24], 6, 4));
        var bytes = builder.Build();
        for (int cut = 1; cut <= 4; cut++)
            Fails(bytes[..(builder.NextFieldOffsets[0] + 4 - cut)], $"link{cut}.tif", "link to the next page");
    }

    [Fact]
    public void WrongMagic_AndOtherFormats_AreNotTiff()
    {
        var bytes = Gray8();
        bytes[2] = 41;
        Fails(bytes, "magic.tif", "magic number 41", page: null);
        Fails([0x89, .. "PNG\r\n\x1a\n and more"u8], "image.png", "not a TIFF", page: null);
        Fails([], "empty.tif", "too short", page: null);
        Fails("II*"u8.ToArray(), "three.tif", "too short", page: null);
        Fails("II*\0\0\0"u8.ToArray(), "header.tif", "truncated", page: null);
    }

    [Fact]
    public void BigTiff_IsRejectedAsSuch()
    {
        Fails([(byte)'I', (byte)'I', 43, 0, 8, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0], "big.tif", "BigTIFF is not supported", page: null);
        Fails([(byte)'M', (byte)'M', 0, 43, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 16], "big-be.tif", "BigTIFF is not supported", page: null);
    }

    [Fact]
    public void IfdOffsetPastTheEnd_OrZero_Fails()
    {
        var builder = new TiffBuilder().Add(BuilderPage.Gray(6, 4, 8).Strips(new byte[24], 6, 4));
        var bytes = builder.Build();
        builder.Patch(bytes, 4, bytes.Length + 100);
        Fails(bytes, "far.tif", "past the end", page: null);
        builder.Patch(bytes, 4, 0);
        Fails(bytes, "none.tif", "first IFD offset is 0", page: null);
        builder.Patch(bytes, 4, builder.IfdOffsets[0]);
        builder.Patch(bytes, builder.NextFieldOffsets[0], uint.MaxValue);
        Fails(bytes, "next.tif", page: 2);
    }

    [Fact]
    public void LoopingIfdChains_AreDetected()
    {
        var builder = new TiffBuilder();
        for (int i = 0; i < 3; i++) builder.Add(BuilderPage.Gray(6, 4, 8).Strips(new byte[24], 6, 4));
        var bytes = builder.Build();
        builder.Patch(bytes, builder.NextFieldOffsets[1], builder.IfdOffsets[0]); // A → B → A
        Fails(bytes, "loop.tif", "loops", page: 3);
        builder.Patch(bytes, builder.NextFieldOffsets[0], builder.IfdOffsets[0]); // A → A
        var e = Fails(bytes, "self.tif", "loops", page: 2);
        Assert.Throws<TiffFormatException>(() => Tiff.ReadInfo(new MemoryStream(bytes), "self.tif"));
        Assert.Contains("self.tif", e.Message);
    }

    [Fact]
    public void ChainOfMoreThan32767Pages_IsRefused()
    {
        // LibTiff.NET counts directories in 16 bits; the reader stops at its limit with a clear error.
        // 40,000 valid 1x1 pages sharing one strip byte at offset 8.
        const int pages = 40_000, entries = 6, ifdBytes = 2 + 12 * entries + 4;
        var bytes = new byte[10 + pages * ifdBytes];
        "II*\0"u8.CopyTo(bytes);
        BitConverter.TryWriteBytes(bytes.AsSpan(4), 10u);
        (ushort Tag, ushort Type, uint Value)[] tags = [(256, 3, 1), (257, 3, 1), (258, 3, 8), (273, 4, 8), (278, 3, 1), (279, 4, 1)];
        for (int p = 0; p < pages; p++)
        {
            int at = 10 + p * ifdBytes;
            BitConverter.TryWriteBytes(bytes.AsSpan(at), (ushort)entries);
            for (int e = 0; e < entries; e++)
            {
                var entry = bytes.AsSpan(at + 2 + 12 * e);
                BitConverter.TryWriteBytes(entry, tags[e].Tag);
                BitConverter.TryWriteBytes(entry[2..], tags[e].Type);
                BitConverter.TryWriteBytes(entry[4..], 1u);
                BitConverter.TryWriteBytes(entry[8..], tags[e].Value);
            }
            BitConverter.TryWriteBytes(bytes.AsSpan(at + ifdBytes - 4), p + 1 < pages ? (uint)(at + ifdBytes) : 0u);
        }
        Fails(bytes, "endless.tif", "more than 32767 pages", page: 32767);
        var limit = bytes[..(10 + 32767 * ifdBytes)];
        BitConverter.TryWriteBytes(limit.AsSpan(limit.Length - 4), 0u); // page 32767 is the last
        Assert.Equal(32767, Tiff.ReadInfo(new MemoryStream(limit), "limit.tif").Count);
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
        Fails(bytes, "pages.tif", "more than a", page: null);
    }

    [Fact]
    public void StripPastTheEnd_OrWithAWrongByteCount_IsRejected()
    {
        Fails(Gray8(change: p => p.Set(273, TiffBuilder.Long, 100_000)), "offset.tif", "strip 0 at offset 100000");
        Fails(Gray8(change: p => p.Set(273, TiffBuilder.Long, 2)), "header-offset.tif", "inside the file's header");
        // LibTiff.NET would replace these byte counts by a size guessed from the image's geometry.
        Fails(Gray8(change: p => p.Set(279, TiffBuilder.Long, 100_000)), "count.tif", "StripByteCounts tag is wrong");
        Fails(Gray8(change: p => p.Set(279, TiffBuilder.Long, 0)), "empty-strip.tif", "StripByteCounts tag is wrong");
        Fails(Gray8(change: p => p.Set(279, TiffBuilder.Long, 10)), "short-strip.tif", "StripByteCounts tag is wrong");
        var strips = BuilderPage.Gray(6, 6, 8, rowsPerStrip: 2).Strips(new byte[36], 6, 2).Set(279, TiffBuilder.Long, 12, 11, 12);
        Fails(new TiffBuilder().Add(strips).Build(), "uneven.tif", "StripByteCounts tag is wrong");
    }

    [Fact]
    public void FewerStripOffsetsThanStrips_IsRejected()
    {
        // LibTiff.NET would warn, fill the missing offsets with zeros and read the header as pixels;
        // the pre-check refuses the page before (it also keeps LibTiff.NET from allocating tables
        // as long as a forged height asks).
        Fails(Gray8(change: p => p.Set(278, TiffBuilder.Long, 1)), "offsets.tif", "StripOffsets has 1 values but the page's size needs 4");
        Fails(Gray8(change: p => p.Set(278, TiffBuilder.Long, 1).Set(273, TiffBuilder.Long, 8, 14, 20, 26).Set(279, TiffBuilder.Long, 6, 6, 6)), "counts.tif", "StripByteCounts has 3 values but the page's size needs 4");
        Fails(Gray8(change: p => p.Set(257, TiffBuilder.Long, int.MaxValue).Set(278, TiffBuilder.Long, 1)), "tall.tif", "needs 2147483647");
    }

    [Fact]
    public void TagWhoseValuesLiePastTheEnd_IsRejectedBeforeLibTiffAllocatesForIt()
    {
        var bytes = Gray8(change: p => p.Set(305, TiffBuilder.Byte, 1, 2, 3, 4, 5)); // Software, 5 bytes: stored past the entries
        int entry = Enumerable.Range(8, bytes.Length - 12).First(i => bytes[i] == 0x31 && bytes[i + 1] == 0x01 && bytes[i + 2] == 1 && bytes[i + 3] == 0);
        BitConverter.TryWriteBytes(bytes.AsSpan(entry + 4), 0x3FFF_FFFFu); // a billion values in a 200-byte file
        Fails(bytes, "count.tif", "tag 305 (SOFTWARE) declares 1073741823 values");
    }

    [Fact]
    public void PixelTagThatLibTiffWouldDrop_IsRejected()
    {
        // An RGB page whose BitsPerSample has 2 values instead of 3: LibTiff.NET warns and ignores the tag.
        var page = BuilderPage.Gray(4, 2, 8).Set(258, TiffBuilder.Short, 8, 8).Set(262, TiffBuilder.Short, 2).Set(277, TiffBuilder.Short, 3).Strips(new byte[24], 12, 2);
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("bits.tif"), new TiffBuilder().Add(page).Build());
        var e = Assert.Throws<TiffFormatException>(() => ImageFiles.Read(dir.File("bits.tif")));
        Assert.True(e.Message.Contains("BitsPerSample") && e.Page == 1, e.Message);
    }

    [Theory]
    [InlineData(7, "compression 7 (JPEG)")]
    [InlineData(6, "compression 6 (OJPEG)")]
    [InlineData(4, "compression 4 (CCITTFAX4)")]
    [InlineData(34712, "compression 34712 (JP2000)")]
    [InlineData(50000, "compression 50000 (unknown)")]
    [InlineData(12345, "compression 12345 (unknown)")]
    public void UnsupportedCompression_IsNamed(int code, string expected) =>
        Fails(Gray8(change: p => p.Set(259, TiffBuilder.Short, code)), $"c{code}.tif", expected);

    [Fact]
    public void Rgb_IsRejected()
    {
        var page = BuilderPage.Gray(4, 2, 8).Set(258, TiffBuilder.Short, 8, 8, 8).Set(262, TiffBuilder.Short, 2).Set(277, TiffBuilder.Short, 3)
            .Strips(new byte[24], 12, 2);
        var e = Fails(new TiffBuilder().Add(page).Build(), "rgb.tif", "RGB");
        Assert.Contains("SamplesPerPixel is 3", e.Message);
        Fails(Gray8(change: p => p.Set(262, TiffBuilder.Short, 3)), "palette-no-map.tif", "Colormap");
        var colormap = Enumerable.Range(0, 3 * 256).Select(i => (long)(i % 256 * 257)).ToArray();
        Fails(Gray8(change: p => p.Set(262, TiffBuilder.Short, 3).Set(320, TiffBuilder.Short, colormap)), "palette.tif", "PhotometricInterpretation 3 (palette colour)");
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
        // LibTiff.NET's own words for a missing width or height.
        Fails(Gray8(change: p => p.Remove(256)), "nowidth.tif", "zero scanline size");
        Fails(Gray8(change: p => p.Set(257, TiffBuilder.Long, 0)), "zero.tif", "zero number of strips");
        Fails(Gray8(change: p => p.Set(256, TiffBuilder.Rational, 6)), "rational.tif", "wrong data type RATIONAL for \"ImageWidth\"");
        Fails(Gray8(change: p => p.Set(339, TiffBuilder.Rational, 3).Set(258, TiffBuilder.Short, 32)), "format-type.tif", "SampleFormat tag is malformed");
        Fails(Gray8(change: p => { p.Set(259, TiffBuilder.Short, 5); p.AutoByteCounts = false; }), "nocounts.tif", "StripByteCounts tag is missing");
        Fails(Gray8(change: p => p.Set(317, TiffBuilder.Short, 3).Set(259, TiffBuilder.Short, 5)), "p3.tif", "Predictor 3 (floating-point differencing) needs 32-bit float samples");
        Fails(Gray8(change: p => p.Set(317, TiffBuilder.Short, 5).Set(259, TiffBuilder.Short, 8)), "p5.tif", "Predictor 5 is not supported");
        Fails(Gray8(change: p => p.Set(262, TiffBuilder.Short, 0).Set(258, TiffBuilder.Short, 32).Set(339, TiffBuilder.Short, 3)), "wiz.tif", "WhiteIsZero");
    }

    [Fact]
    public void DamagedCompressedData_IsReportedWithItsStrip()
    {
        var garbage = Enumerable.Range(0, 40).Select(i => (byte)(i * 37 + 11)).ToArray();
        var e = Fails(Gray8(change: p => { p.Set(259, TiffBuilder.Short, 8); p.Chunks[0] = garbage; }), "zip.tif", "page 1: strip 0: ZIPDecode");
        Assert.Null(e.InnerException); // LibTiff.NET's error, reported with the strip it came from
        var shortZip = Deflate(new byte[10]); // valid zlib, too little data
        Fails(Gray8(change: p => { p.Set(259, TiffBuilder.Short, 8); p.Chunks[0] = shortZip; }), "short.tif", "strip 0: ZIPDecode: Not enough data");
        Fails(Gray8(change: p => { p.Set(259, TiffBuilder.Short, 5); p.Chunks[0] = [0xFF, 0xFF, 0xFF, 0xFF]; }), "lzw.tif", "strip 0: LZWDecode");
        // Old-style LZW that ends early: LibTiff.NET only warns and leaves the rest of the strip unset.
        Fails(Gray8(change: p => { p.Set(259, TiffBuilder.Short, 5); p.Chunks[0] = [0, 1, 2, 3]; }), "oldlzw.tif", "strip 0: LZWDecodeCompat: Not enough data");
        Fails(Gray8(change: p => { p.Set(259, TiffBuilder.Short, 32773); p.Chunks[0] = [100, 1, 2]; }), "packbits.tif", "strip 0: PackBitsDecode");
    }

    [Fact]
    public void LzwStripCutShort_IsRejected_NotZeroFilled()
    {
        var volume = TestVolumes.Make(TiffSampleFormat.UInt8, 1, 40, 40);
        var page = BuilderPage.Gray(40, 40, 8, compression: 5);
        var lzw = TestVolumes.ToBytes(volume, TiffCompression.Lzw);
        var strip = Tiff.ReadInfo(new MemoryStream(lzw), "lzw.tif")[0];
        Assert.Equal(40, strip.RowsPerStrip);
        // our writer's one LZW strip starts right after the header; cut it to half its length
        int length = (int)LzwStripLength(lzw);
        page.Chunks.Add(lzw.AsSpan(8, length / 2).ToArray());
        Fails(new TiffBuilder().Add(page).Build(), "half.tif", "strip 0: LZWDecode");
    }

    /// <summary>StripByteCounts of the first page of a little-endian file our writer made (one strip).</summary>
    private static uint LzwStripLength(byte[] file)
    {
        int ifd = BitConverter.ToInt32(file, 4), entries = BitConverter.ToUInt16(file, ifd);
        for (int i = 0; i < entries; i++)
        {
            int at = ifd + 2 + 12 * i;
            if (BitConverter.ToUInt16(file, at) == 279) return BitConverter.ToUInt32(file, at + 8);
        }
        throw new InvalidDataException("no StripByteCounts");
    }

    [Fact]
    public void PagesOfDifferentSizes_AreRejected()
    {
        var bytes = new TiffBuilder()
            .Add(BuilderPage.Gray(6, 4, 8).Strips(new byte[24], 6, 4))
            .Add(BuilderPage.Gray(4, 6, 8).Strips(new byte[24], 4, 6)).Build();
        Fails(bytes, "mixed.tif", "page 2 is 4x6", page: null);
    }

    internal static byte[] Deflate(byte[] data)
    {
        using var buffer = new MemoryStream();
        using (var zlib = new ZLibStream(buffer, CompressionLevel.Optimal, leaveOpen: true)) zlib.Write(data);
        return buffer.ToArray();
    }
}
