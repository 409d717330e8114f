using UNet.Segmentation.Imaging;

namespace UNet.Segmentation.Tests.Imaging;

/// <summary>Layouts built byte by byte (not by our writer): what the reader must accept and what it makes of it.</summary>
public class TiffReaderFeatureTests
{
    private static TiffVolume Read(byte[] bytes) => Tiff.Read(new MemoryStream(bytes), "built.tif");

    private static byte[] Ramp(int count, int step = 1) => Enumerable.Range(0, count).Select(i => (byte)(i * step)).ToArray();

    [Fact]
    public void WhiteIsZero_IsInverted_SoValuesMeanBrightness()
    {
        var pixels = Ramp(24, 10);
        var page = BuilderPage.Gray(6, 4, 8).Set(262, TiffBuilder.Short, 0).Strips(pixels, 6, 4);
        var read = Read(new TiffBuilder().Add(page).Build());
        Assert.Equal(pixels.Select(v => (byte)(255 - v)), read.GetUInt8());
        Assert.True(Tiff.ReadInfo(new MemoryStream(new TiffBuilder().Add(page).Build()), "w.tif")[0].WhiteIsZero);

        var words = new ushort[] { 0, 1, 1000, 65535 };
        var builder = new TiffBuilder { BigEndian = true };
        builder.Add(BuilderPage.Gray(2, 2, 16).Set(262, TiffBuilder.Short, 0).Strips(builder.Samples(words), 4, 2));
        Assert.Equal(new ushort[] { 65535, 65534, 64535, 0 }, Read(builder.Build()).GetUInt16());
    }

    [Fact]
    public void MissingRowsPerStrip_MeansOneStrip_AndOversizedRowsPerStripIsClamped()
    {
        var pixels = Ramp(35);
        var page = BuilderPage.Gray(5, 7, 8).Remove(278).Strips(pixels, 5, 7);
        Assert.Equal(pixels, Read(new TiffBuilder().Add(page).Build()).GetUInt8());
        Assert.Equal(7, Tiff.ReadInfo(new MemoryStream(new TiffBuilder().Add(page).Build()), "r.tif")[0].RowsPerStrip);
        page.Set(278, TiffBuilder.Long, uint.MaxValue);
        Assert.Equal(pixels, Read(new TiffBuilder().Add(page).Build()).GetUInt8());
    }

    [Fact]
    public void ShortLastStripAndMissingPhotometric_AreAccepted()
    {
        var pixels = Ramp(35, 3);
        var page = BuilderPage.Gray(5, 7, 8, rowsPerStrip: 3).Remove(262).Strips(pixels, 5, 3);
        Assert.Equal(pixels, Read(new TiffBuilder().Add(page).Build()).GetUInt8());
    }

    [Fact]
    public void MissingByteCounts_AreDerivedForOneUncompressedStrip_AndRefusedOtherwise()
    {
        var pixels = Ramp(35, 3);
        var one = BuilderPage.Gray(5, 7, 8).Strips(pixels, 5, 7);
        one.AutoByteCounts = false;
        Assert.Equal(pixels, Read(new TiffBuilder().Add(one).Build()).GetUInt8());

        var several = BuilderPage.Gray(5, 7, 8, rowsPerStrip: 3).Strips(pixels, 5, 3);
        several.AutoByteCounts = false; // libtiff's rule too: several strips need their sizes
        var e = Assert.Throws<TiffFormatException>(() => Read(new TiffBuilder().Add(several).Build()));
        Assert.Contains("StripByteCounts", e.Message);
    }

    [Fact]
    public void BigEndian16BitDeflateWithHorizontalDifferencing_IsUndoneInTheRightOrder()
    {
        var values = Enumerable.Range(0, 6 * 5).Select(i => (ushort)(i * 2001 + 7)).ToArray();
        var differenced = (ushort[])values.Clone();
        for (int y = 0; y < 5; y++)
            for (int x = 5; x >= 1; x--) differenced[y * 6 + x] -= differenced[y * 6 + x - 1];
        var builder = new TiffBuilder { BigEndian = true };
        var page = BuilderPage.Gray(6, 5, 16, compression: 32946, rowsPerStrip: 2).Set(317, TiffBuilder.Short, 2)
            .Strips(builder.Samples(differenced), 12, 2, TiffBadFileTests.Deflate);
        builder.Add(page);
        var bytes = builder.Build();
        Assert.Equal(values, Read(bytes).GetUInt16());
        var info = Tiff.ReadInfo(new MemoryStream(bytes), "be.tif")[0];
        Assert.Equal((TiffCompression.Deflate, 32946, 2, true), (info.Compression, info.CompressionCode, info.Predictor, info.IsBigEndian));
    }

    [Fact]
    public void Tiles_WithPaddedEdgeTiles_AreAssembled()
    {
        // 10x7 float image in 4x4 tiles: 3 across, 2 down, the right and bottom tiles padded with junk.
        const int width = 10, height = 7, tile = 4;
        var values = Enumerable.Range(0, width * height).Select(i => i * 0.5f - 3).ToArray();
        var builder = new TiffBuilder { BigEndian = true };
        var page = BuilderPage.Gray(width, height, 32, sampleFormat: 3).Remove(278)
            .Set(322, TiffBuilder.Short, tile).Set(323, TiffBuilder.Short, tile);
        page.Tiled = true;
        for (int ty = 0; ty < 2; ty++)
            for (int tx = 0; tx < 3; tx++)
            {
                var samples = new float[tile * tile];
                for (int y = 0; y < tile; y++)
                    for (int x = 0; x < tile; x++)
                    {
                        int gx = tx * tile + x, gy = ty * tile + y;
                        samples[y * tile + x] = gx < width && gy < height ? values[gy * width + gx] : 999f;
                    }
                page.Chunks.Add(builder.Samples(samples));
            }
        builder.Add(page);
        var bytes = builder.Build();
        Assert.Equal(values, Read(bytes).GetFloat32());
        var info = Tiff.ReadInfo(new MemoryStream(bytes), "tiles.tif")[0];
        Assert.Equal((true, 4, 4, 0), (info.IsTiled, info.TileWidth, info.TileHeight, info.RowsPerStrip));
    }

    [Fact]
    public void PackBits_WithRunsLiteralsAndNoOps_Decodes()
    {
        // 2 literal, -128 no-op, run of 4 x 9, literal of 1, run of 2 x 7 across the strip
        byte[] packed = [1, 10, 20, 0x80, 0xFD, 9, 0, 30, 0xFF, 7];
        var page = BuilderPage.Gray(3, 3, 8, compression: 32773);
        page.Chunks.Add(packed);
        Assert.Equal(new byte[] { 10, 20, 9, 9, 9, 9, 30, 7, 7 }, Read(new TiffBuilder().Add(page).Build()).GetUInt8());
    }

    [Fact]
    public void PlanarConfigurationTwo_WithOneSample_IsTheSameLayout()
    {
        var pixels = Ramp(12);
        var page = BuilderPage.Gray(4, 3, 8).Set(284, TiffBuilder.Short, 2).Strips(pixels, 4, 3);
        Assert.Equal(pixels, Read(new TiffBuilder().Add(page).Build()).GetUInt8());
    }

    [Fact]
    public void ReadInfo_DoesNotDecodePixels()
    {
        var page = BuilderPage.Gray(8, 8, 8, compression: 8);
        page.Chunks.Add(Enumerable.Repeat((byte)0xAB, 30).ToArray()); // not zlib data
        var bytes = new TiffBuilder().Add(page).Build();
        var info = Tiff.ReadInfo(new MemoryStream(bytes), "info.tif");
        Assert.Equal((8, 8, 8, TiffCompression.Deflate), (info[0].Width, info[0].Height, info[0].BitsPerSample, info[0].Compression));
        Assert.Throws<TiffFormatException>(() => Read(bytes));
    }

    [Fact]
    public void StreamIsReadFromItsCurrentPosition()
    {
        var volume = TestVolumes.Make(TiffSampleFormat.UInt8, 2, 5, 5);
        var stream = new MemoryStream();
        stream.Write([1, 2, 3]);
        Tiff.Write(stream, volume, TiffCompression.Lzw); // offsets relative to the start position
        stream.Position = 3;
        TestVolumes.AssertSame(volume, Tiff.Read(stream, "embedded.tif"));
    }
}
