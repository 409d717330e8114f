using System.Buffers.Binary;
using System.IO.Compression;
using System.Text.Json;
using UNet.Segmentation.Imaging;

namespace UNet.Segmentation.Tests.Imaging;

public class PngTests
{
    private const string PillowDecode =
        "import sys, json\nfrom PIL import Image\n" +
        "Image.open(sys.argv[1]).verify()\n" +                       // checks chunk CRCs and structure
        "im = Image.open(sys.argv[1]); im.load()\n" +
        "print(json.dumps({'mode': im.mode, 'size': list(im.size), 'hex': im.tobytes().hex()}))";

    /// <summary>Rows of noise, ramps, repeats and smooth 2-D gradients, so that every filter has rows it suits.</summary>
    private static byte[] Image(int width, int height, int channels, int seed)
    {
        var random = new Random(seed);
        int rowBytes = width * channels;
        var data = new byte[rowBytes * height];
        for (int y = 0; y < height; y++)
            for (int i = 0; i < rowBytes; i++)
                data[y * rowBytes + i] = (y % 4) switch
                {
                    0 => (byte)random.Next(256),
                    1 => (byte)(i * 3 + y),
                    2 => data[(y - 1) * rowBytes + i],
                    _ => (byte)((i / channels) * 2 + y * 5 + i % channels * 40),
                };
        return data;
    }

    [Theory]
    [InlineData(37, 23)]
    [InlineData(1, 1)]
    [InlineData(300, 7)]
    public void WriteGray_DecodesIdenticallyInPillow(int width, int height)
    {
        ExternalTools.RequirePil();
        using var dir = new TempDir();
        var pixels = Image(width, height, 1, seed: width);
        string path = dir.File("gray.png");
        Png.WriteGray(path, pixels, width, height);
        AssertPillowSees(path, "L", width, height, pixels);
    }

    [Theory]
    [InlineData(31, 17)]
    [InlineData(2, 3)]
    public void WriteRgb_DecodesIdenticallyInPillow(int width, int height)
    {
        ExternalTools.RequirePil();
        using var dir = new TempDir();
        var rgb = Image(width, height, 3, seed: width);
        string path = dir.File("rgb.png");
        Png.WriteRgb(path, rgb, width, height);
        AssertPillowSees(path, "RGB", width, height, rgb);
    }

    [Fact]
    public void Files_HaveValidChunks_AndUnfilterToThePixels_UsingSeveralFilters()
    {
        using var dir = new TempDir();
        const int width = 40, height = 24;
        var rgb = Image(width, height, 3, seed: 9);
        string path = dir.File("self.png");
        Png.WriteRgb(path, rgb, width, height);
        var (decoded, filters) = DecodeIndependently(File.ReadAllBytes(path), width, height, channels: 3);
        Assert.Equal(rgb, decoded);
        Assert.True(filters.Distinct().Count() >= 3, $"filters used: {string.Join(',', filters)}");
        Assert.Equal(new[] { "self.png" }, dir.Entries());
    }

    [Fact]
    public void WrongArguments_AreRejectedBeforeAnyFileIsMade()
    {
        using var dir = new TempDir();
        string path = dir.File("x.png");
        Assert.Equal("pixels", Assert.Throws<ArgumentException>(() => Png.WriteGray(path, new byte[11], 3, 4)).ParamName);
        Assert.Equal("rgb", Assert.Throws<ArgumentException>(() => Png.WriteRgb(path, new byte[12], 3, 4)).ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => Png.WriteGray(path, [], 0, 4));
        Assert.Empty(dir.Entries());
    }

    private static void AssertPillowSees(string path, string mode, int width, int height, byte[] samples)
    {
        var result = ExternalTools.RunOk(ExternalTools.Python, "-c", PillowDecode, path);
        using var json = JsonDocument.Parse(result.Stdout);
        var root = json.RootElement;
        Assert.Equal(mode, root.GetProperty("mode").GetString());
        Assert.Equal(new[] { width, height }, root.GetProperty("size").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(Convert.ToHexString(samples).ToLowerInvariant(), root.GetProperty("hex").GetString());
    }

    /// <summary>A test-side decoder: checks the signature, every chunk's CRC (bit by bit) and IHDR, then inflates and unfilters.</summary>
    private static (byte[] Samples, List<int> Filters) DecodeIndependently(byte[] png, int width, int height, int channels)
    {
        Assert.Equal(new byte[] { 137, 80, 78, 71, 13, 10, 26, 10 }, png[..8]);
        var idat = new MemoryStream();
        var types = new List<string>();
        for (int at = 8; at < png.Length;)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(at));
            string type = System.Text.Encoding.ASCII.GetString(png, at + 4, 4);
            var body = png.AsSpan(at + 8, length);
            Assert.Equal(BitwiseCrc(png.AsSpan(at + 4, length + 4)), BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(at + 8 + length)));
            if (type == "IHDR")
            {
                Assert.Equal((width, height), (BinaryPrimitives.ReadInt32BigEndian(body), BinaryPrimitives.ReadInt32BigEndian(body[4..])));
                Assert.Equal(new byte[] { 8, (byte)(channels == 3 ? 2 : 0), 0, 0, 0 }, body[8..].ToArray());
            }
            if (type == "IDAT") idat.Write(body);
            types.Add(type);
            at += 12 + length;
        }
        Assert.Equal("IHDR", types[0]);
        Assert.Equal("IEND", types[^1]);
        idat.Position = 0;
        var raw = new MemoryStream();
        using (var zlib = new ZLibStream(idat, CompressionMode.Decompress)) zlib.CopyTo(raw);
        var filtered = raw.ToArray();
        int rowBytes = width * channels;
        Assert.Equal((rowBytes + 1) * height, filtered.Length);
        var samples = new byte[rowBytes * height];
        var filters = new List<int>();
        for (int y = 0; y < height; y++)
        {
            int filter = filtered[y * (rowBytes + 1)];
            filters.Add(filter);
            for (int i = 0; i < rowBytes; i++)
            {
                int a = i >= channels ? samples[y * rowBytes + i - channels] : 0;
                int b = y > 0 ? samples[(y - 1) * rowBytes + i] : 0;
                int c = i >= channels && y > 0 ? samples[(y - 1) * rowBytes + i - channels] : 0;
                int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
                int predictor = filter switch
                {
                    0 => 0,
                    1 => a,
                    2 => b,
                    3 => (a + b) / 2,
                    4 => pa <= pb && pa <= pc ? a : pb <= pc ? b : c,
                    _ => throw new InvalidDataException($"filter {filter}"),
                };
                samples[y * rowBytes + i] = (byte)(filtered[y * (rowBytes + 1) + 1 + i] + predictor);
            }
        }
        return (samples, filters);
    }

    private static uint BitwiseCrc(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320 & (uint)-(int)(crc & 1));
        }
        return ~crc;
    }
}
