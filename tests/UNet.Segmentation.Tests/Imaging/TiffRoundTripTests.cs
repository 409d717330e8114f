using UNet.Segmentation.Imaging;

namespace UNet.Segmentation.Tests.Imaging;

public class TiffRoundTripTests
{
    public static TheoryData<TiffSampleFormat, TiffCompression, int> AllCases()
    {
        var data = new TheoryData<TiffSampleFormat, TiffCompression, int>();
        foreach (var format in Enum.GetValues<TiffSampleFormat>())
            foreach (var compression in Enum.GetValues<TiffCompression>())
                foreach (int pages in new[] { 1, 3 })
                    data.Add(format, compression, pages);
        return data;
    }

    [Theory]
    [MemberData(nameof(AllCases))]
    public void WrittenVolume_ReadsBackIdentical(TiffSampleFormat format, TiffCompression compression, int pages)
    {
        using var dir = new TempDir();
        var volume = TestVolumes.Make(format, pages, 23, 37, seed: pages);
        string path = dir.File("volume.tif");
        Tiff.Write(path, volume, compression);

        TestVolumes.AssertSame(volume, Tiff.Read(path));
        var info = Tiff.ReadInfo(path);
        Assert.Equal(pages, info.Count);
        Assert.All(info, page =>
        {
            Assert.Equal((37, 23), (page.Width, page.Height));
            Assert.Equal(format, page.SampleFormat);
            Assert.Equal(compression, page.Compression);
            Assert.Equal(volume.BytesPerSample * 8, page.BitsPerSample);
            Assert.False(page.IsTiled);
            Assert.False(page.IsBigEndian);
            Assert.False(page.WhiteIsZero);
        });
        Assert.Equal(new[] { "volume.tif" }, dir.Entries()); // no temporary file left behind
    }

    [Theory]
    [InlineData(TiffSampleFormat.UInt8, 700, 250)]
    [InlineData(TiffSampleFormat.UInt16, 300, 260)]
    [InlineData(TiffSampleFormat.Float32, 600, 130)]
    public void PagesOfSeveralStrips_RoundTripWithEveryCompression(TiffSampleFormat format, int width, int height)
    {
        var volume = TestVolumes.Make(format, 2, height, width, seed: 7);
        foreach (var compression in Enum.GetValues<TiffCompression>())
        {
            var bytes = TestVolumes.ToBytes(volume, compression);
            var info = Tiff.ReadInfo(new MemoryStream(bytes), "strips.tif");
            Assert.True(info[0].RowsPerStrip < height, $"expected several strips per page, got {info[0].RowsPerStrip} rows per strip");
            TestVolumes.AssertSame(volume, Tiff.Read(new MemoryStream(bytes), "strips.tif"));
        }
    }

    [Theory]
    [InlineData(0)]   // constant: LZW strings grow to thousands of bytes
    [InlineData(1)]   // noise: the LZW table fills and is cleared many times
    [InlineData(2)]   // a slow ramp
    public void LongStrips_ExerciseLzwTableResets_AndRoundTrip(int kind)
    {
        var random = new Random(kind);
        var data = new byte[4 * 256 * 256];
        for (int i = 0; i < data.Length; i++)
            data[i] = kind switch { 0 => 77, 1 => (byte)random.Next(256), _ => (byte)(i / 1000) };
        var volume = new TiffVolume(4, 256, 256, data);
        foreach (var compression in new[] { TiffCompression.Lzw, TiffCompression.PackBits, TiffCompression.Deflate })
            TestVolumes.AssertSame(volume, Tiff.Read(new MemoryStream(TestVolumes.ToBytes(volume, compression)), "long.tif"));
    }

    [Fact]
    public void CompressionActuallyShrinksRepetitiveData()
    {
        var volume = new TiffVolume(2, 64, 64, new byte[2 * 64 * 64]);
        int raw = TestVolumes.ToBytes(volume).Length;
        foreach (var compression in new[] { TiffCompression.Lzw, TiffCompression.PackBits, TiffCompression.Deflate })
            Assert.True(TestVolumes.ToBytes(volume, compression).Length < raw / 4, $"{compression} did not compress zeros");
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(1, 5)]
    [InlineData(5, 1)]
    public void TinyPages_RoundTrip(int height, int width)
    {
        foreach (var format in Enum.GetValues<TiffSampleFormat>())
            foreach (var compression in Enum.GetValues<TiffCompression>())
            {
                var volume = TestVolumes.Make(format, 2, height, width);
                TestVolumes.AssertSame(volume, Tiff.Read(new MemoryStream(TestVolumes.ToBytes(volume, compression)), "tiny.tif"));
            }
    }

    [Fact]
    public void WritingToAStream_StartsAtItsPosition_IgnoresWhatFollows_AndEndsAtTheTiffsEnd()
    {
        var volume = TestVolumes.Make(TiffSampleFormat.UInt16, 3, 11, 13);
        var stream = new MemoryStream();
        stream.Write(Enumerable.Repeat((byte)0xEE, 5000).ToArray()); // more than the TIFF will need
        stream.Position = 7;
        Tiff.Write(stream, volume, TiffCompression.Lzw);
        long end = stream.Position;
        Assert.True(end > 7 && end < 5000, $"ended at {end}");
        TestVolumes.AssertSame(volume, Tiff.Read(new MemoryStream(stream.ToArray()[7..(int)end]), "window.tif"));
        Assert.Equal(0xEE, stream.ToArray()[6]); // nothing before the position was touched
    }

    [Fact]
    public void WritingToAStream_NeedsItReadableWritableAndSeekable()
    {
        var volume = TestVolumes.Make(TiffSampleFormat.UInt8, 1, 2, 2);
        using var dir = new TempDir();
        using var writeOnly = new FileStream(dir.File("w.tif"), FileMode.Create, FileAccess.Write);
        Assert.Equal("stream", Assert.Throws<ArgumentException>(() => Tiff.Write(writeOnly, volume)).ParamName);
        Assert.Equal("stream", Assert.Throws<ArgumentException>(() => Tiff.Write(new MemoryStream(new byte[10], writable: false), volume)).ParamName);
    }

    [Fact]
    public void Overwriting_ReplacesTheFile()
    {
        using var dir = new TempDir();
        string path = dir.File("a.tif");
        Tiff.Write(path, TestVolumes.Make(TiffSampleFormat.UInt8, 3, 10, 10));
        var second = TestVolumes.Make(TiffSampleFormat.Float32, 1, 4, 6);
        Tiff.Write(path, second, TiffCompression.Deflate);
        TestVolumes.AssertSame(second, Tiff.Read(path));
        Assert.Equal(new[] { "a.tif" }, dir.Entries());
    }
}
