using System.Text.Json;
using UNet.Segmentation.Imaging;

namespace UNet.Segmentation.Tests.Imaging;

/// <summary>
/// <see cref="ImageFiles.Read(string)"/> against files made outside the library: PNGs written byte by
/// byte by a small Python encoder (every colour type and depth, palettes, transparency, gamma and
/// chromaticity chunks, Adam7 interlacing), PNGs, JPEGs and TIFFs written by Pillow and libtiff's
/// tools. The expected samples are what was encoded (or what Pillow decodes), exactly.
/// </summary>
public class ImageFilesTests
{
    /// <summary>
    /// Writes PNGs into argv[1] and prints, per file, the samples a reader must return: alpha dropped,
    /// palette indices replaced by their colours, values as stored (no gamma, no scaling).
    /// </summary>
    internal const string PngMaker = """
        import json, random, struct, sys, zlib
        out = sys.argv[1]
        random.seed(14)
        def chunk(t, d): return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
        def pack(samples, bits):
            if bits == 8: return bytes(samples)
            if bits == 16: return b''.join(struct.pack('>H', s) for s in samples)
            per = 8 // bits; out = bytearray()
            for i in range(0, len(samples), per):
                byte = 0
                for k in range(per):
                    byte = (byte << bits) | (samples[i + k] if i + k < len(samples) else 0)
                out.append(byte)
            return bytes(out)
        PASSES = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
        expected = {}
        def png(name, w, h, bits, ctype, pixels, chunks=(), interlace=False, plte=None, trns=None, keep=None):
            rows = lambda grid: b''.join(b'\0' + pack([s for px in row for s in px], bits) for row in grid)
            if interlace:
                data = b''
                for x0, y0, dx, dy in PASSES:
                    grid = [[pixels[y][x] for x in range(x0, w, dx)] for y in range(y0, h, dy)]
                    if grid and grid[0]: data += rows(grid)
            else:
                data = rows(pixels)
            body = chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, bits, ctype, 0, 0, 1 if interlace else 0))
            for t, d in chunks: body += chunk(t, d)
            if plte: body += chunk(b'PLTE', bytes(c for rgb in plte for c in rgb))
            if trns is not None: body += chunk(b'tRNS', trns)
            body += chunk(b'IDAT', zlib.compress(data, 9)) + chunk(b'IEND', b'')
            open(f'{out}/{name}.png', 'wb').write(b'\x89PNG\r\n\x1a\n' + body)
            keep = keep or (lambda px: list(px[:3]) if ctype in (2, 6) else [px[0]])
            samples = [s for row in pixels for px in row for s in (list(plte[px[0]]) if ctype == 3 else keep(px))]
            expected[name] = {'width': w, 'height': h, 'channels': 3 if ctype in (2, 3, 6) else 1, 'bits': bits if ctype == 0 else 8, 'samples': samples}
        def grid(w, h, spp, top): return [[tuple(random.randrange(top + 1) for _ in range(spp)) for x in range(w)] for y in range(h)]
        gamma_1 = (b'gAMA', struct.pack('>I', 100000))
        wide = (b'cHRM', struct.pack('>8I', 31270, 32900, 73470, 26530, 0, 100000, 14400, 3000))
        png('grey8-gamma', 19, 7, 8, 0, grid(19, 7, 1, 255), [gamma_1])
        for bits in (1, 2, 4): png(f'grey{bits}', 13, 5, bits, 0, grid(13, 5, 1, (1 << bits) - 1))
        png('grey4-adam7', 13, 11, 4, 0, grid(13, 11, 1, 15), interlace=True)
        png('grey8-trns', 9, 4, 8, 0, grid(9, 4, 1, 255), trns=struct.pack('>H', 17))
        png('greyalpha8', 11, 6, 8, 4, grid(11, 6, 2, 255))
        png('rgb8-gamma-chrm', 17, 9, 8, 2, grid(17, 9, 3, 255), [gamma_1, wide])
        png('rgb8-adam7', 13, 11, 8, 2, grid(13, 11, 3, 255), interlace=True)
        png('rgba8', 10, 7, 8, 6, [[(r, g, b, random.choice([0, 1, 128, 255])) for r, g, b in row] for row in grid(10, 7, 3, 255)])
        palette = [(random.randrange(256), random.randrange(256), random.randrange(256)) for _ in range(200)]
        png('palette8-trns', 12, 8, 8, 3, grid(12, 8, 1, 199), plte=palette, trns=bytes(random.randrange(256) for _ in range(50)))
        png('palette2', 15, 3, 2, 3, grid(15, 3, 1, 3), plte=palette[:4])
        png('grey16', 5, 4, 16, 0, grid(5, 4, 1, 65535))
        png('rgba16', 5, 4, 16, 6, grid(5, 4, 4, 65535))
        print(json.dumps(expected))
        """;

    private Dictionary<string, JsonElement> MakePngs(string folder)
    {
        var result = ExternalTools.RunOk(ExternalTools.Python, "-c", PngMaker, folder);
        return JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(result.Stdout)!;
    }

    public static TheoryData<string> PngCases() =>
    [
        "grey8-gamma", "grey1", "grey2", "grey4", "grey4-adam7", "grey8-trns", "greyalpha8",
        "rgb8-gamma-chrm", "rgb8-adam7", "rgba8", "palette8-trns", "palette2",
    ];

    [Theory]
    [MemberData(nameof(PngCases))]
    public void Png_GivesTheStoredSamples_Exactly(string name)
    {
        ExternalTools.RequirePil();
        using var dir = new TempDir();
        var expected = MakePngs(dir.Path)[name];
        var image = ImageFiles.Read(dir.File(name + ".png"));
        Assert.Equal(ImageFileFormat.Png, image.Format);
        Assert.Equal(
            (expected.GetProperty("width").GetInt32(), expected.GetProperty("height").GetInt32(), expected.GetProperty("channels").GetInt32(), expected.GetProperty("bits").GetInt32()),
            (image.Width, image.Height, image.Channels, image.BitsPerSample));
        var samples = expected.GetProperty("samples").EnumerateArray().Select(e => (ushort)e.GetInt32()).ToArray();
        Assert.Equal(samples, image.Samples);
    }

    [Theory]
    [InlineData("grey16")]
    [InlineData("rgba16")]
    public void Png16Bit_IsRefused_NotTruncatedTo8Bits(string name)
    {
        ExternalTools.RequirePil();
        using var dir = new TempDir();
        MakePngs(dir.Path);
        string path = dir.File(name + ".png");
        var e = Assert.Throws<ImageFormatException>(() => ImageFiles.Read(path));
        Assert.Equal(path, e.FilePath);
        Assert.Contains("16-bit PNGs are not supported", e.Message);
    }

    /// <summary>
    /// Why 16-bit PNGs are refused, pinned so that a SkiaSharp that decodes them exactly is noticed:
    /// 2.88.9 refuses a 16-bit target and hands an 8-bit or half-float one only the high bytes.
    /// </summary>
    [Fact]
    public unsafe void SkiaSharp_Decodes16BitPngsThrough8Bits()
    {
        ExternalTools.RequirePil();
        using var dir = new TempDir();
        var expected = MakePngs(dir.Path)["grey16"].GetProperty("samples").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        using var data = SkiaSharp.SKData.CreateCopy(File.ReadAllBytes(dir.File("grey16.png")));
        using var codec = SkiaSharp.SKCodec.Create(data);
        Assert.Equal(SkiaSharp.SKColorType.Gray8, codec.Info.ColorType); // what Skia says the file holds
        var wide = new SkiaSharp.SKImageInfo(5, 4, SkiaSharp.SKColorType.Rgba16161616, SkiaSharp.SKAlphaType.Unpremul);
        var pixels = new byte[wide.BytesSize];
        fixed (byte* p = pixels)
            Assert.Equal(SkiaSharp.SKCodecResult.InvalidConversion, codec.GetPixels(wide, (IntPtr)p));
        var half = new SkiaSharp.SKImageInfo(5, 4, SkiaSharp.SKColorType.RgbaF16, SkiaSharp.SKAlphaType.Unpremul);
        pixels = new byte[half.BytesSize];
        fixed (byte* p = pixels)
            Assert.Equal(SkiaSharp.SKCodecResult.Success, codec.GetPixels(half, (IntPtr)p));
        var reds = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, Half>(pixels).ToArray().Where((_, i) => i % 4 == 0).ToArray();
        for (int i = 0; i < expected.Length; i++)
            Assert.Equal(expected[i] >> 8, (int)Math.Round((double)reds[i] * 255)); // the high byte, no more
        var narrow = new SkiaSharp.SKImageInfo(5, 4, SkiaSharp.SKColorType.Gray8, SkiaSharp.SKAlphaType.Opaque);
        pixels = new byte[narrow.BytesSize];
        fixed (byte* p = pixels)
            Assert.Equal(SkiaSharp.SKCodecResult.Success, codec.GetPixels(narrow, (IntPtr)p));
        Assert.Equal(expected.Select(v => (byte)(v >> 8)), pixels);
    }

    [Fact]
    public void PillowPngs_WithItsFilters_ReadAsPillowDecodesThem()
    {
        ExternalTools.RequirePil();
        using var dir = new TempDir();
        var decoded = Pillow(dir, """
            import sys, random
            from PIL import Image
            random.seed(5)
            w, h = 41, 29
            im = Image.new('RGB', (w, h)); im.putdata([((x * 9 + y) % 256, (y * 13) % 256, random.randrange(256) if y % 3 else x) for y in range(h) for x in range(w)])
            im.save(sys.argv[1] + '/rgb.png', optimize=True)
            im.convert('L').save(sys.argv[1] + '/grey.png')
            im.convert('P', palette=Image.ADAPTIVE, colors=17).save(sys.argv[1] + '/palette.png')
            im.convert('1').save(sys.argv[1] + '/bits.png')
            """, ("rgb.png", "RGB"), ("grey.png", "L"), ("palette.png", "RGB"), ("bits.png", "L"));
        foreach (var (file, samples) in decoded)
        {
            var image = ImageFiles.Read(dir.File(file));
            var values = file == "bits.png" ? image.Samples.Select(v => (byte)(v * 255)).ToArray() : image.Samples.Select(v => (byte)v).ToArray();
            Assert.True(samples.AsSpan().SequenceEqual(values), $"{file} differs from Pillow's decoding");
            Assert.Equal(file == "bits.png" ? 1 : 8, image.BitsPerSample);
        }
    }

    [Fact]
    public void Jpeg_ReadsAsPillowDecodesIt_WithoutApplyingOrientation()
    {
        ExternalTools.RequirePil();
        using var dir = new TempDir();
        var decoded = Pillow(dir, """
            import sys, random
            from PIL import Image
            random.seed(6)
            w, h = 37, 23
            im = Image.new('RGB', (w, h)); im.putdata([((x * 7) % 256, (y * 11) % 256, (x * y + random.randrange(60)) % 256) for y in range(h) for x in range(w)])
            im.convert('L').save(sys.argv[1] + '/grey.jpg', quality=90)
            im.save(sys.argv[1] + '/c420.jpg', quality=90)
            im.save(sys.argv[1] + '/c444.jpg', quality=90, subsampling=0)
            im.save(sys.argv[1] + '/progressive.jpg', quality=85, progressive=True)
            exif = Image.Exif(); exif[0x0112] = 6  # "rotate 90° clockwise to display"
            im.save(sys.argv[1] + '/rotated.jpg', quality=90, exif=exif)
            """, ("grey.jpg", "L"), ("c420.jpg", "RGB"), ("c444.jpg", "RGB"), ("progressive.jpg", "RGB"), ("rotated.jpg", "RGB"));
        foreach (var (file, samples) in decoded)
        {
            var image = ImageFiles.Read(dir.File(file));
            Assert.Equal((ImageFileFormat.Jpeg, 37, 23, file == "grey.jpg" ? 1 : 3, 8), (image.Format, image.Width, image.Height, image.Channels, image.BitsPerSample));
            // Both are libjpeg-turbo (Skia's and Debian's): measured identical; 1 allows a rounding difference.
            int worst = samples.Select((v, i) => Math.Abs(v - image.Samples[i])).Max();
            Assert.True(worst <= (file == "grey.jpg" ? 0 : 1), $"{file}: off by up to {worst} from Pillow");
        }
    }

    [Fact]
    public void Tiff_FirstPage_GreyAndRgb_ContiguousAndPlanar_ReadExactly()
    {
        ExternalTools.RequirePil();
        ExternalTools.Require("tiffcp");
        using var dir = new TempDir();
        var decoded = Pillow(dir, """
            import sys, random
            from PIL import Image
            random.seed(7)
            w, h = 23, 19
            im = Image.new('RGBA', (w, h)); im.putdata([(random.randrange(256), x * 11 % 256, y * 13 % 256, random.choice([0, 255])) for y in range(h) for x in range(w)])
            im.convert('RGB').save(sys.argv[1] + '/rgb.tif', compression='tiff_lzw')
            im.save(sys.argv[1] + '/rgba.tif', compression='tiff_adobe_deflate')
            """, ("rgb.tif", "RGB"), ("rgba.tif", "RGB"));
        ExternalTools.RunOk("tiffcp", "-p", "separate", "-c", "zip", dir.File("rgb.tif"), dir.File("planar.tif"));
        ExternalTools.RunOk("tiffcp", "-t", "-w", "16", "-l", "16", "-B", dir.File("rgba.tif"), dir.File("rgba-tiled-be.tif"));
        foreach (var (file, samples) in decoded.Append(("planar.tif", decoded[0].Samples)).Append(("rgba-tiled-be.tif", decoded[1].Samples)))
        {
            var image = ImageFiles.Read(dir.File(file));
            Assert.Equal((ImageFileFormat.Tiff, 23, 19, 3, 8), (image.Format, image.Width, image.Height, image.Channels, image.BitsPerSample));
            Assert.True(samples.AsSpan().SequenceEqual(image.Samples.Select(v => (byte)v).ToArray()), $"{file} differs from Pillow's decoding");
        }

        var volume = TestVolumes.Make(TiffSampleFormat.UInt16, 3, 9, 14);
        Tiff.Write(dir.File("grey16.tif"), volume, TiffCompression.Deflate);
        var grey = ImageFiles.Read(dir.File("grey16.tif"));
        Assert.Equal((1, 16), (grey.Channels, grey.BitsPerSample));
        Assert.Equal(volume.PageUInt16(0).ToArray(), grey.Samples); // the first page only
    }

    [Fact]
    public void Tiff16BitRgb_BuiltByteByByte_ReadsExactly_ContiguousAndPlanar()
    {
        ExternalTools.Require("tiffinfo");
        using var dir = new TempDir();
        const int width = 5, height = 4;
        var values = Enumerable.Range(0, width * height * 3).Select(i => (ushort)(i * 1091 + 3)).ToArray();
        var builder = new TiffBuilder { BigEndian = true };
        var contiguous = BuilderPage.Gray(width, height, 16).Set(258, TiffBuilder.Short, 16, 16, 16).Set(262, TiffBuilder.Short, 2).Set(277, TiffBuilder.Short, 3)
            .Strips(builder.Samples(values), width * 3 * 2, height);
        File.WriteAllBytes(dir.File("rgb16.tif"), builder.Add(contiguous).Build());
        var planes = Enumerable.Range(0, 3).Select(c => values.Where((_, i) => i % 3 == c).ToArray()).ToArray();
        var planar = BuilderPage.Gray(width, height, 16).Set(258, TiffBuilder.Short, 16, 16, 16).Set(262, TiffBuilder.Short, 2).Set(277, TiffBuilder.Short, 3)
            .Set(284, TiffBuilder.Short, 2).Strips(planes.SelectMany(p => builder.Samples(p)).ToArray(), width * 2, height);
        builder.Pages.Clear();
        File.WriteAllBytes(dir.File("planar16.tif"), builder.Add(planar).Build());
        foreach (var file in new[] { "rgb16.tif", "planar16.tif" })
        {
            var check = ExternalTools.RunOk("tiffinfo", "-D", dir.File(file)); // libtiff reads the file we built
            Assert.True(check.Stderr.Trim().Length == 0, check.ToString());
            var image = ImageFiles.Read(dir.File(file));
            Assert.Equal((3, 16), (image.Channels, image.BitsPerSample));
            Assert.Equal(values, image.Samples);
            Assert.Equal(values[(2 * width + 3) * 3 + 1], image[2, 3, 1]);
        }
    }

    [Fact]
    public void Tiff_WhiteIsZeroInverted_FloatAndPaletteRefused_NamingFileAndPage()
    {
        using var dir = new TempDir();
        var pixels = Enumerable.Range(0, 12).Select(i => (byte)(i * 20)).ToArray();
        File.WriteAllBytes(dir.File("wiz.tif"), new TiffBuilder().Add(BuilderPage.Gray(4, 3, 8).Set(262, TiffBuilder.Short, 0).Strips(pixels, 4, 3)).Build());
        Assert.Equal(pixels.Select(v => (ushort)(255 - v)), ImageFiles.Read(dir.File("wiz.tif")).Samples);

        Tiff.Write(dir.File("float.tif"), TestVolumes.Make(TiffSampleFormat.Float32, 1, 4, 4));
        var e = Assert.Throws<TiffFormatException>(() => ImageFiles.Read(dir.File("float.tif")));
        Assert.Equal((dir.File("float.tif"), 1), (e.FilePath, e.Page));
        Assert.Contains("float", e.Message);

        var colormap = Enumerable.Range(0, 3 * 256).Select(i => (long)(i % 256 * 257)).ToArray();
        File.WriteAllBytes(dir.File("palette.tif"), new TiffBuilder().Add(BuilderPage.Gray(4, 3, 8).Set(262, TiffBuilder.Short, 3).Set(320, TiffBuilder.Short, colormap).Strips(pixels, 4, 3)).Build());
        Assert.Contains("palette colour", Assert.Throws<TiffFormatException>(() => ImageFiles.Read(dir.File("palette.tif"))).Message);
    }

    [Fact]
    public void FormatComesFromTheBytes_NotTheName()
    {
        using var dir = new TempDir();
        Png.WriteGray(dir.File("really-a-png.tif"), [1, 2, 3, 4, 5, 6], 3, 2);
        Tiff.Write(dir.File("really-a-tiff.png"), new TiffVolume(1, 2, 3, new byte[] { 1, 2, 3, 4, 5, 6 }));
        var png = ImageFiles.Read(dir.File("really-a-png.tif"));
        var tiff = ImageFiles.Read(dir.File("really-a-tiff.png"));
        Assert.Equal((ImageFileFormat.Png, ImageFileFormat.Tiff), (png.Format, tiff.Format));
        Assert.Equal(png.Samples, tiff.Samples);
        Assert.Equal(new ushort[] { 1, 2, 3, 4, 5, 6 }, png.Samples);
        Assert.Equal(ImageFileFormat.Jpeg, ImageFiles.Detect([0xFF, 0xD8, 0xFF, 0xE0]));
        Assert.Null(ImageFiles.Detect("II*"u8));
    }

    [Theory]
    [InlineData(new byte[] { 0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 1, 0 }, "47 49 46 38 39 61 01 00 (\"GIF89a..\"), which looks like a GIF image")]
    [InlineData(new byte[] { 0x42, 0x4D, 0, 0 }, "a BMP image")]
    [InlineData(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x00 }, "a PNG whose signature is damaged")]
    [InlineData(new byte[] { 1, 2, 3 }, "it starts with 01 02 03 (\"...\")")]
    [InlineData(new byte[0], "the file is empty")]
    public void UnknownContent_IsNamed_WithWhatTheBytesLookLike(byte[] bytes, string expected)
    {
        using var dir = new TempDir();
        string path = dir.File("mystery.png");
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<ImageFormatException>(() => ImageFiles.Read(path));
        Assert.Equal(path, e.FilePath);
        Assert.Contains(path, e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void DamagedPngAndJpeg_GiveImageFormatExceptions_NamingTheFile()
    {
        using var dir = new TempDir();
        var pixels = Enumerable.Range(0, 64 * 48).Select(i => (byte)(i * 31 % 251)).ToArray();
        Png.WriteGray(dir.File("whole.png"), pixels, 64, 48);
        var png = File.ReadAllBytes(dir.File("whole.png"));
        foreach (int length in new[] { 20, 40, png.Length / 2, png.Length - 13 })
        {
            var e = Assert.Throws<ImageFormatException>(() => ImageFiles.Read(new MemoryStream(png[..length]), $"cut-{length}.png"));
            Assert.Equal($"cut-{length}.png", e.FilePath);
            Assert.Contains("PNG: ", e.Message);
        }
        var forged = (byte[])png.Clone();
        forged[16] = 0x40; // width 2^30: more than the file can inflate to
        Assert.Contains("more than the", Assert.Throws<ImageFormatException>(() => ImageFiles.Read(new MemoryStream(forged), "forged.png")).Message);
        forged = (byte[])png.Clone();
        forged[24] = 3; // bit depth 3 does not exist
        Assert.Contains("bit depth 3", Assert.Throws<ImageFormatException>(() => ImageFiles.Read(new MemoryStream(forged), "depth.png")).Message);

        byte[] jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 0, 16, .. "JFIF\0"u8, 1, 1, 0, 0, 1, 0, 1, 0, 0, 0xFF, 0xD9];
        var je = Assert.Throws<ImageFormatException>(() => ImageFiles.Read(new MemoryStream(jpeg), "empty.jpg"));
        Assert.Equal("empty.jpg", je.FilePath);
        Assert.Contains("JPEG: ", je.Message);
    }

    [Fact]
    public void JpegCutAnywhere_IsRefused_NotFilledWithGrey()
    {
        // libjpeg-turbo fills a cut scan with grey and SkiaSharp calls that success; the reader must not.
        var jpeg = SkiaJpeg(64, 40);
        Assert.Equal((64, 40), (ImageFiles.Read(new MemoryStream(jpeg), "whole.jpg").Width, 40));
        for (int length = 0; length < jpeg.Length; length++)
        {
            var e = Assert.Throws<ImageFormatException>(() => ImageFiles.Read(new MemoryStream(jpeg[..length]), $"cut-{length}.jpg"));
            Assert.Equal($"cut-{length}.jpg", e.FilePath);
        }
    }

    [Fact]
    public void JpegWhoseSizeItsDataCannotCode_IsRefusedBeforeDecoding()
    {
        var jpeg = SkiaJpeg(64, 40);
        int sof = Enumerable.Range(2, jpeg.Length - 3).First(i => jpeg[i] == 0xFF && jpeg[i + 1] == 0xC0);
        jpeg[sof + 5] = jpeg[sof + 7] = 0x20; // over 8192 x 8192 from a file of a few kilobytes
        var e = Assert.Throws<ImageFormatException>(() => ImageFiles.Read(new MemoryStream(jpeg), "forged.jpg"));
        Assert.Contains("more than", e.Message);
        Assert.Contains("pixels a byte", e.Message);
    }

    /// <summary>A baseline colour JPEG encoded by SkiaSharp (what an app using this library already has).</summary>
    private static unsafe byte[] SkiaJpeg(int width, int height)
    {
        var rgba = Enumerable.Range(0, width * height * 4).Select(i => i % 4 == 3 ? (byte)255 : (byte)(i * 7 % 256 ^ i / 256)).ToArray();
        fixed (byte* pointer = rgba)
        {
            using var pixmap = new SkiaSharp.SKPixmap(new SkiaSharp.SKImageInfo(width, height, SkiaSharp.SKColorType.Rgba8888, SkiaSharp.SKAlphaType.Opaque), (IntPtr)pointer, width * 4);
            using var data = pixmap.Encode(new SkiaSharp.SKJpegEncoderOptions(90, SkiaSharp.SKJpegEncoderDownsample.Downsample420, SkiaSharp.SKJpegEncoderAlphaOption.Ignore));
            return data.ToArray();
        }
    }

    [Fact]
    public void DecodedImage_ChecksItsShape_AndIndexesRowMajorChannelsInterleaved()
    {
        var image = new DecodedImage(3, 2, 3, 8, Enumerable.Range(0, 18).Select(i => (ushort)i).ToArray(), ImageFileFormat.Png);
        Assert.Equal(3 * (1 * 3 + 2) + 1, image[1, 2, 1]);
        Assert.Throws<ArgumentOutOfRangeException>(() => image[2, 0, 0]);
        Assert.Throws<ArgumentOutOfRangeException>(() => image[0, 0, 3]);
        Assert.Equal("samples", Assert.Throws<ArgumentException>(() => new DecodedImage(3, 2, 1, 8, new ushort[5], ImageFileFormat.Png)).ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => new DecodedImage(3, 2, 2, 8, new ushort[12], ImageFileFormat.Png));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DecodedImage(3, 2, 1, 17, new ushort[6], ImageFileFormat.Png));
    }

    /// <summary>Runs a Pillow script that writes files into the folder, then has Pillow decode each named file in the given mode.</summary>
    private static List<(string File, byte[] Samples)> Pillow(TempDir dir, string script, params (string File, string Mode)[] files)
    {
        ExternalTools.RunOk(ExternalTools.Python, "-c", script, dir.Path);
        const string Decode = "import sys\nfrom PIL import Image\nim = Image.open(sys.argv[1]); im.load()\nprint(im.convert(sys.argv[2]).tobytes().hex())";
        return files.Select(f => (f.File, Convert.FromHexString(ExternalTools.RunOk(ExternalTools.Python, "-c", Decode, dir.File(f.File), f.Mode).Stdout.Trim()))).ToList();
    }
}
