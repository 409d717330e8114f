using System.Text.RegularExpressions;
using UNet.Segmentation.Imaging;

namespace UNet.Segmentation.Tests.Imaging;

/// <summary>libtiff as the oracle: it reads what we write, and we read what it writes in every layout it offers.</summary>
public class TiffLibtiffOracleTests(ITestOutputHelper output)
{
    private static readonly string[][] Variants =
    [
        ["-c", "none"], ["-c", "lzw"], ["-c", "lzw:2"], ["-c", "zip"], ["-c", "zip:2"], ["-c", "packbits"],
        ["-t", "-w", "16", "-l", "16"], ["-t", "-w", "16", "-l", "16", "-c", "lzw:2"], ["-t", "-w", "32", "-l", "16", "-c", "zip"],
        ["-B"], ["-B", "-c", "lzw:2"], ["-B", "-c", "zip:2"], ["-B", "-t", "-w", "16", "-l", "16", "-c", "packbits"],
        ["-r", "7"], ["-r", "7", "-c", "lzw"], ["-r", "1", "-c", "zip:2"], ["-L", "-c", "lzw"],
    ];

    public static TheoryData<TiffSampleFormat, string> VariantCases()
    {
        var data = new TheoryData<TiffSampleFormat, string>();
        foreach (var format in Enum.GetValues<TiffSampleFormat>())
            foreach (var variant in Variants)
                data.Add(format, string.Join(' ', variant));
        return data;
    }

    [Theory]
    [MemberData(nameof(VariantCases))]
    public void EveryLayoutTiffcpWrites_ReadsBackIdentical(TiffSampleFormat format, string variant)
    {
        ExternalTools.Require("tiffcp");
        using var dir = new TempDir();
        var volume = TestVolumes.Make(format, 3, 37, 45, seed: 3);
        string ours = dir.File("ours.tif"), theirs = dir.File("theirs.tif");
        Tiff.Write(ours, volume);
        ExternalTools.RunOk("tiffcp", [.. variant.Split(' '), ours, theirs]);

        var read = Tiff.Read(theirs);
        TestVolumes.AssertSame(volume, read);
        var info = Tiff.ReadInfo(theirs);
        Assert.Equal(variant.Contains("-t"), info[0].IsTiled);
        Assert.Equal(variant.Contains("-B"), info[0].IsBigEndian);
        Assert.Equal(variant.Contains(":2") ? 2 : 1, info[0].Predictor);
        output.WriteLine($"{variant}: {info[0]}");
    }

    public static TheoryData<TiffSampleFormat, TiffCompression> OurFiles()
    {
        var data = new TheoryData<TiffSampleFormat, TiffCompression>();
        foreach (var format in Enum.GetValues<TiffSampleFormat>())
            foreach (var compression in Enum.GetValues<TiffCompression>())
                data.Add(format, compression);
        return data;
    }

    [Theory]
    [MemberData(nameof(OurFiles))]
    public void LibtiffDecodesWhatWeWrite(TiffSampleFormat format, TiffCompression compression)
    {
        ExternalTools.Require("tiffcp", "tiffinfo");
        using var dir = new TempDir();
        var volume = TestVolumes.Make(format, 3, 300, 260, seed: 5); // several strips per page
        string ours = dir.File("ours.tif"), plain = dir.File("plain.tif");
        Tiff.Write(ours, volume, compression);

        var decoded = ExternalTools.RunOk("tiffinfo", "-D", ours); // -D: read every strip
        Assert.True(decoded.Stderr.Trim().Length == 0, $"libtiff complained: {decoded.Stderr}");
        ExternalTools.RunOk("tiffcp", "-c", "none", ours, plain); // libtiff decompresses our strips
        TestVolumes.AssertSame(volume, Tiff.Read(plain));
    }

    [Theory]
    [MemberData(nameof(OurFiles))]
    public void PillowReadsEveryPageWeWrite(TiffSampleFormat format, TiffCompression compression)
    {
        ExternalTools.RequirePil();
        using var dir = new TempDir();
        var volume = TestVolumes.Make(format, 3, 41, 27, seed: 8);
        string path = dir.File("ours.tif");
        Tiff.Write(path, volume, compression);
        // Pillow's own TIFF plugin and libtiff underneath: every page's samples as little-endian bytes
        var pillow = ExternalTools.RunOk(ExternalTools.Python, "-c", """
            import sys
            from PIL import Image
            im = Image.open(sys.argv[1]); pages = []
            for i in range(im.n_frames):
                im.seek(i); im.load()
                data = im.tobytes('raw', {'L': 'L', 'I;16': 'I;16', 'F': 'F;32F'}[im.mode])
                pages.append(data.hex())
            print(im.n_frames, im.mode, ''.join(pages))
            """, path).Stdout.Split(' ');
        Assert.Equal(("3", format switch { TiffSampleFormat.UInt8 => "L", TiffSampleFormat.UInt16 => "I;16", _ => "F" }), (pillow[0], pillow[1]));
        Assert.Equal(Convert.ToHexString(TestVolumes.RawBytes(volume)).ToLowerInvariant(), pillow[2].Trim());
    }

    [Theory]
    [MemberData(nameof(OurFiles))]
    public void TiffinfoAndTiffdump_SeeTheTagsWeWrote(TiffSampleFormat format, TiffCompression compression)
    {
        ExternalTools.Require("tiffinfo", "tiffdump");
        using var dir = new TempDir();
        var volume = TestVolumes.Make(format, 4, 21, 33);
        string path = dir.File("ours.tif");
        Tiff.Write(path, volume, compression);

        var info = ExternalTools.RunOk("tiffinfo", path);
        Assert.True(info.Stderr.Trim().Length == 0, $"tiffinfo warned: {info.Stderr}");
        Assert.Equal(4, Regex.Matches(info.Stdout, "TIFF Directory at offset").Count);
        Assert.Equal(4, Regex.Matches(info.Stdout, @"Image Width: 33 Image Length: 21").Count);
        Assert.Equal(4, Regex.Matches(info.Stdout, $@"Bits/Sample: {volume.BytesPerSample * 8}\b").Count);
        Assert.Equal(4, Regex.Matches(info.Stdout, "Samples/Pixel: 1").Count);
        Assert.Equal(4, Regex.Matches(info.Stdout, "Photometric Interpretation: min-is-black").Count);
        string scheme = compression switch
        {
            TiffCompression.None => "None",
            TiffCompression.PackBits => "PackBits",
            TiffCompression.Lzw => "LZW",
            _ => "AdobeDeflate",
        };
        Assert.Equal(4, Regex.Matches(info.Stdout, $"Compression Scheme: {scheme}").Count);
        if (format == TiffSampleFormat.Float32) Assert.Contains("Sample Format: IEEE floating point", info.Stdout);
        Assert.Contains("Page Number: 3-4", info.Stdout);

        var dump = ExternalTools.RunOk("tiffdump", path);
        Assert.Contains("Magic: 0x4949 <little-endian> Version: 0x2a", dump.Stdout);
        Assert.Equal(4, Regex.Matches(dump.Stdout, @"Directory \d+:").Count);
        Assert.Equal(4, Regex.Matches(dump.Stdout, @"ImageWidth \(256\) (SHORT \(3\)|LONG \(4\)) 1<33>").Count);
        Assert.Equal(4, Regex.Matches(dump.Stdout, @"SampleFormat \(339\) SHORT \(3\) 1<" + (format == TiffSampleFormat.Float32 ? 3 : 1) + ">").Count);
    }

    public static TheoryData<string> FloatPredictorVariants() =>
    [
        "-c lzw:3", "-c zip:3", "-t -w 16 -l 16 -c lzw:3",
        // LibTiff.NET 2.4.660 decodes big-endian floats with Predictor 3 byte-swapped; the reader swaps them back.
        "-B -c lzw:3", "-B -c zip:3", "-B -t -w 16 -l 16 -c zip:3", "-B -r 5 -c lzw:3",
    ];

    [Theory]
    [MemberData(nameof(FloatPredictorVariants))]
    public void FloatingPointPredictor_ReadsBackIdentical_InEitherByteOrder(string variant)
    {
        ExternalTools.Require("tiffcp", "tiffinfo");
        using var dir = new TempDir();
        string ours = dir.File("ours.tif"), theirs = dir.File("float-predictor.tif");
        var volume = TestVolumes.Make(TiffSampleFormat.Float32, 2, 37, 45, seed: 9);
        Tiff.Write(ours, volume);
        ExternalTools.RunOk("tiffcp", [.. variant.Split(' '), ours, theirs]);
        Assert.Contains("Predictor: floating point predictor 3", ExternalTools.RunOk("tiffinfo", theirs).Stdout);

        TestVolumes.AssertSame(volume, Tiff.Read(theirs));
        var info = Tiff.ReadInfo(theirs)[0];
        Assert.Equal((3, variant.Contains("-B")), (info.Predictor, info.IsBigEndian));
    }

    [Fact]
    public void FloatingPointPredictor_BigEndian_MatchesPillow()
    {
        ExternalTools.Require("tiffcp");
        ExternalTools.RequirePil();
        using var dir = new TempDir();
        string ours = dir.File("ours.tif"), theirs = dir.File("be.tif");
        var volume = TestVolumes.Make(TiffSampleFormat.Float32, 1, 16, 16, seed: 4);
        Tiff.Write(ours, volume);
        ExternalTools.RunOk("tiffcp", "-B", "-c", "zip:3", ours, theirs);
        // Pillow decodes through the system's libtiff: the values as a little-endian float32 hex dump
        var pillow = ExternalTools.RunOk(ExternalTools.Python, "-c",
            "import sys, struct\nfrom PIL import Image\nim = Image.open(sys.argv[1]); im.load()\n" +
            "print(b''.join(struct.pack('<f', v) for v in im.getdata()).hex())", theirs);
        var read = Tiff.Read(theirs);
        Assert.Equal(pillow.Stdout.Trim(), Convert.ToHexString(TestVolumes.RawBytes(read)).ToLowerInvariant());
    }
}
