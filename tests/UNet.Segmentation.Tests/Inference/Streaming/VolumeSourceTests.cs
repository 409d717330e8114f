using BitMiracle.LibTiff.Classic;
using UNet.Segmentation.Imaging;
using UNet.Segmentation.Inference.Streaming;
using UNet.Segmentation.Tests.Imaging;
using LibTiff = BitMiracle.LibTiff.Classic.Tiff;
using Tiff = UNet.Segmentation.Imaging.Tiff;

namespace UNet.Segmentation.Tests.Inference.Streaming;

/// <summary>The page-by-page TIFF reader gives the pixels the whole-file reader gives, whatever the layout.</summary>
public sealed class VolumeSourceTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(TiffCompression.None)]
    [InlineData(TiffCompression.PackBits)]
    [InlineData(TiffCompression.Lzw)]
    [InlineData(TiffCompression.Deflate)]
    public void StackPages_AreTheWholeFileReadersPixels(TiffCompression compression)
    {
        string path = _dir.File($"{compression}.tif");
        Tiff.Write(path, TestVolumes.Make(TiffSampleFormat.UInt8, 3, 300, 301, seed: 4), compression); // several strips per page
        var whole = Tiff.Read(path);
        using var source = VolumeSource.Open(path);
        Assert.Equal(3, source.PageCount);
        Assert.Equal(["page-00001", "page-00002", "page-00003"], source.PageNames);
        for (int p = 2; p >= 0; p--) // backwards too: SetDirectory, not only the next one
        {
            var page = source.ReadPage(p);
            Assert.Equal((p, path, 300, 301), (page.Index, page.FilePath, page.Height, page.Width));
            Assert.Equal(whole.PageUInt8(p).ToArray(), page.Pixels);
        }
    }

    [Theory]
    [InlineData(Photometric.MINISBLACK)]
    [InlineData(Photometric.MINISWHITE)]
    public void TiledAndWhiteIsZeroPages_AreReadAsTheWholeFileReaderReadsThem(Photometric photometric)
    {
        string path = _dir.File("tiled.tif");
        const int H = 50, W = 70, T = 32;
        var random = new Random(8);
        using (var tiff = LibTiff.Open(path, "w"))
        {
            for (int p = 0; p < 2; p++)
            {
                tiff.SetField(TiffTag.IMAGEWIDTH, W);
                tiff.SetField(TiffTag.IMAGELENGTH, H);
                tiff.SetField(TiffTag.BITSPERSAMPLE, 8);
                tiff.SetField(TiffTag.SAMPLESPERPIXEL, 1);
                tiff.SetField(TiffTag.PHOTOMETRIC, photometric);
                tiff.SetField(TiffTag.COMPRESSION, Compression.ADOBE_DEFLATE);
                tiff.SetField(TiffTag.TILEWIDTH, T);
                tiff.SetField(TiffTag.TILELENGTH, T);
                var tile = new byte[T * T];
                for (int t = 0; t < tiff.NumberOfTiles(); t++)
                {
                    random.NextBytes(tile);
                    tiff.WriteEncodedTile(t, tile, tile.Length);
                }
                tiff.WriteDirectory();
            }
        }
        var whole = Tiff.Read(path);
        using var source = new TiffStackSource(path);
        for (int p = 0; p < 2; p++) Assert.Equal(whole.PageUInt8(p).ToArray(), source.ReadPage(p).Pixels);
    }

    [Fact]
    public void MissingGarbageAndEmptyInputs_GiveClearErrors()
    {
        Assert.Throws<FileNotFoundException>(() => VolumeSource.Open(_dir.File("missing.tif")));
        File.WriteAllBytes(_dir.File("garbage.tif"), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
        var e = Assert.Throws<TiffFormatException>(() => VolumeSource.Open(_dir.File("garbage.tif")));
        Assert.Contains(_dir.File("garbage.tif"), e.Message);
        Directory.CreateDirectory(_dir.File("empty"));
        File.WriteAllText(_dir.File("empty/readme.txt"), "no images");
        Assert.Contains(_dir.File("empty"), Assert.Throws<InvalidDataException>(() => VolumeSource.Open(_dir.File("empty"))).Message);
    }
}
