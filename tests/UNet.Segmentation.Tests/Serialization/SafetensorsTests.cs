using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using TorchSharp;
using UNet.Segmentation.Serialization;
using UNet.Segmentation.Tests.Peer;
using UNet.Segmentation.Tests.Shared;
using static TorchSharp.torch;

namespace UNet.Segmentation.Tests.Serialization;

[Collection("LiveTensors")]
public sealed partial class SafetensorsTests(ITestOutputHelper output)
{
    private const string Cli = "safetensors_cli.py";

    // ---- round trips in C# -------------------------------------------------------------------

    [Theory]
    [InlineData(Safetensors.DefaultChunkBytes)]
    [InlineData(8)]
    [InlineData(24)]
    [InlineData(40)]
    public void SaveThenLoad_RoundTripsEveryDtypeBitExactly(int chunkBytes)
    {
        using var dir = new TempDir();
        string path = dir.PathOf("all.safetensors");
        var metadata = new Dictionary<string, string> { ["source"] = "csharp", ["note"] = "ünï \"q\" \\ back\nslash\u0001" };
        long baseline = LiveTensors.SettledCount();
        using (var scope = NewDisposeScope())
        {
            var tensors = SampleTensors();
            Assert.Equal(SupportedDtypes.Order(), tensors.Select(t => t.Value.dtype).Distinct().Order());
            Safetensors.Save(path, tensors, metadata, chunkBytes, wrapStream: null);

            using var file = Safetensors.Load(path, device: null, chunkBytes);
            Assert.Equal(CodePointOrder(tensors.Select(t => t.Key)), file.Tensors.Keys);
            foreach (var (name, expected) in tensors)
            {
                var actual = file.Tensors[name];
                Assert.Equal(expected.dtype, actual.dtype);
                Assert.Equal(expected.shape, actual.shape);
                Assert.Equal(DeviceType.CPU, actual.device_type);
                Assert.True(actual.is_contiguous());
                Assert.False(actual.requires_grad);
                Assert.Equal(BytesOf(expected), BytesOf(actual));
            }
            Assert.Equal(metadata.Append(KeyValuePair.Create("format", "pt")).OrderBy(kv => kv.Key, StringComparer.Ordinal),
                file.Metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal));
            Assert.Equal(0L, file.Tensors["scalar"].Dimensions);
            Assert.Equal(3.25, file.Tensors["scalar"].ToDouble());
            Assert.Equal(0L, file.Tensors["empty"].numel());
        }
        Assert.Equal(baseline, torch.Tensor.TotalCount); // no GC here: a finalizer must not hide a leak
    }

    [Fact]
    public void Save_WritesAnAlignedHeader_MetadataFirst_FormatPt_NamesInCodePointOrder_DataWithoutGaps()
    {
        using var dir = new TempDir();
        string path = dir.PathOf("layout.safetensors");
        string[] names = ["b", "a", "high-\U0001F600", "high-\uFB01", "a.b", "B"];
        using (var scope = NewDisposeScope())
            Safetensors.Save(path, names.Select((n, i) => KeyValuePair.Create(n, full(new long[] { i + 1 }, i, ScalarType.Int16))),
                new Dictionary<string, string> { ["z"] = "1", ["m"] = "2" });

        byte[] bytes = File.ReadAllBytes(path);
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0UL, n % 8);
        string header = Encoding.UTF8.GetString(bytes, 8, (int)n);
        Assert.StartsWith("{\"__metadata__\":{\"format\":\"pt\",\"m\":\"2\",\"z\":\"1\"},", header);
        Assert.Matches("^[^ ]*} *$", header); // compact JSON, then only space padding
        using var json = JsonDocument.Parse(header);
        var keys = json.RootElement.EnumerateObject().Select(p => p.Name).ToList();
        Assert.Equal("__metadata__", keys[0]);
        // Code-point order puts U+FB01 before U+1F600 (UTF-16 order would not).
        Assert.Equal(["B", "a", "a.b", "b", "high-\uFB01", "high-\U0001F600"], keys.Skip(1));
        long position = 0;
        foreach (var key in keys.Skip(1))
        {
            var entry = json.RootElement.GetProperty(key);
            Assert.Equal("I16", entry.GetProperty("dtype").GetString());
            var offsets = entry.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            Assert.Equal(position, offsets[0]);
            long count = entry.GetProperty("shape")[0].GetInt64();
            Assert.Equal(position + 2 * count, offsets[1]);
            position = offsets[1];
            // Each tensor's bytes lie at its offsets: every element holds the tensor's index in `names`.
            short value = (short)Array.IndexOf(names, key);
            for (long i = 0; i < count; i++)
                Assert.Equal(value, BinaryPrimitives.ReadInt16LittleEndian(bytes.AsSpan((int)(8 + (long)n + offsets[0] + 2 * i))));
        }
        Assert.Equal(8 + (long)n + position, bytes.LongLength);
    }

    [Fact]
    public void Save_KeepsACallersFormat_AndReplacesAnExistingFile()
    {
        using var dir = new TempDir();
        string path = dir.PathOf("w.safetensors");
        File.WriteAllText(path, "an older, longer file that is not safetensors at all............");
        using (var scope = NewDisposeScope())
            Safetensors.Save(path, [KeyValuePair.Create("w", ones(3))], new Dictionary<string, string> { ["format"] = "np" });
        using var file = Safetensors.Load(path);
        Assert.Equal("np", Assert.Single(file.Metadata).Value);
        Assert.Equal([1f, 1f, 1f], file.Tensors["w"].data<float>().ToArray());
        Assert.Equal([Path.GetFileName(path)], dir.Listing());
    }

    [Fact]
    public void ReadHeader_ReportsEntriesInOffsetOrder_WithoutCreatingTensors()
    {
        using var dir = new TempDir();
        string path = dir.PathOf("h.safetensors");
        using (var scope = NewDisposeScope())
            Safetensors.Save(path, [KeyValuePair.Create("z", zeros(2, 3, ScalarType.BFloat16)), KeyValuePair.Create("a", zeros(Array.Empty<long>(), ScalarType.Bool))]);
        long before = LiveTensors.SettledCount();
        var (metadata, entries) = Safetensors.ReadHeader(path);
        Assert.Equal(before, torch.Tensor.TotalCount);
        Assert.Equal("pt", metadata["format"]);
        Assert.Collection(entries,
            e => { Assert.Equal(("a", ScalarType.Bool, 0L, 1L), (e.Name, e.Dtype, e.Begin, e.End)); Assert.Empty(e.Shape); },
            e => { Assert.Equal(("z", ScalarType.BFloat16, 1L, 13L), (e.Name, e.Dtype, e.Begin, e.End)); Assert.Equal([2L, 3L], e.Shape); Assert.Equal(12, e.ByteLength); });
    }

    // ---- ownership ---------------------------------------------------------------------------

    [Fact]
    public void LoadThenDispose_ReturnsTheLiveTensorCountToBaseline_AndTakenTensorsOutliveTheFile()
    {
        using var dir = new TempDir();
        string path = dir.PathOf("own.safetensors");
        using (var scope = NewDisposeScope()) Safetensors.Save(path, SampleTensors());
        int count = Safetensors.ReadHeader(path).Entries.Count;

        long baseline = LiveTensors.SettledCount();
        var file = Safetensors.Load(path);
        Assert.Equal(baseline + count, torch.Tensor.TotalCount);
        file.Dispose();
        Assert.Equal(baseline, torch.Tensor.TotalCount);
        Assert.Empty(file.Tensors);
        file.Dispose(); // idempotent

        Tensor taken;
        using (var scope = NewDisposeScope())
        using (var second = Safetensors.Load(path))
        {
            // Loaded inside a scope, the tensors still belong to the file, not the scope.
            Assert.Equal(0, scope.DisposablesCount);
            taken = second.Take("f32");
            Assert.False(second.Tensors.ContainsKey("f32"));
            Assert.Throws<KeyNotFoundException>(() => second.Take("f32"));
        }
        Assert.False(taken.IsInvalid);
        Assert.Equal(baseline + 1, torch.Tensor.TotalCount);
        Assert.Equal(8L, taken.numel());
        taken.Dispose();
        Assert.Equal(baseline, torch.Tensor.TotalCount);
        Assert.Throws<ObjectDisposedException>(() => file.Take("f64"));
    }

    [Fact]
    public void Load_ThatFailsOnALaterTensor_DisposesTheTensorsAlreadyRead()
    {
        using var dir = new TempDir();
        string path = dir.PathOf("bad-bool.safetensors");
        File.WriteAllBytes(path, Build("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"BOOL","shape":[3],"data_offsets":[8,11]}}""",
            [0, 0, 128, 63, 0, 0, 0, 64, 1, 0, 2]));
        long baseline = LiveTensors.SettledCount();
        var e = Assert.Throws<SafetensorsFormatException>(() => Safetensors.Load(path));
        Assert.Equal("b", e.TensorName);
        Assert.Contains("not a BOOL value", e.Message);
        Assert.Equal(baseline, torch.Tensor.TotalCount); // no GC here: a finalizer must not hide a leak
    }

    [Fact]
    public void Load_OntoCuda_WhenADeviceIsPresent()
    {
        Requirement.SkipWhen(!cuda.is_available(), "no CUDA device: the GPU load path was not exercised");
        using var dir = new TempDir();
        string path = dir.PathOf("gpu.safetensors");
        using var scope = NewDisposeScope();
        var tensors = SampleTensors();
        Safetensors.Save(path, tensors.Select(kv => KeyValuePair.Create(kv.Key, kv.Value.to(CUDA))).ToList());
        foreach (int chunk in new[] { Safetensors.DefaultChunkBytes, 8 })
        {
            using var file = Safetensors.Load(path, CUDA, chunk);
            foreach (var (name, expected) in tensors)
            {
                Assert.Equal(DeviceType.CUDA, file.Tensors[name].device_type);
                Assert.Equal(expected.dtype, file.Tensors[name].dtype);
                Assert.Equal(BytesOf(expected), BytesOf(file.Tensors[name]));
            }
        }
    }

    // ---- atomic saves ------------------------------------------------------------------------

    [Fact]
    public void Save_RejectingItsArguments_LeavesTheExistingFileAndNoTemporaryFile()
    {
        using var dir = new TempDir();
        string path = dir.PathOf("keep.safetensors");
        byte[] original = [1, 2, 3, 4, 5];
        File.WriteAllBytes(path, original);
        using var scope = NewDisposeScope();
        var good = ones(2);
        var disposed = ones(2);
        disposed.Dispose();
        var half = "a\uD800b"; // a lone surrogate: not encodable as UTF-8

        Assert.Throws<ObjectDisposedException>(() => Safetensors.Save(path, [KeyValuePair.Create("good", good), KeyValuePair.Create("gone", disposed)]));
        Assert.Throws<ArgumentException>(() => Safetensors.Save(path, [KeyValuePair.Create("", good)]));
        Assert.Throws<ArgumentException>(() => Safetensors.Save(path, [KeyValuePair.Create("__metadata__", good)]));
        Assert.Throws<ArgumentException>(() => Safetensors.Save(path, [KeyValuePair.Create("x", good), KeyValuePair.Create("x", good)]));
        Assert.Throws<ArgumentException>(() => Safetensors.Save(path, [KeyValuePair.Create(half, good)]));
        Assert.Throws<ArgumentException>(() => Safetensors.Save(path, [KeyValuePair.Create("x", (Tensor)null!)]));
        var complex = zeros(2, ScalarType.ComplexFloat32);
        Assert.Contains("ComplexFloat32", Assert.Throws<ArgumentException>(() => Safetensors.Save(path, [KeyValuePair.Create("c", complex)])).Message);
        var complex64 = zeros(2, ScalarType.ComplexFloat64);
        Assert.Throws<ArgumentException>(() => Safetensors.Save(path, [KeyValuePair.Create("good", good), KeyValuePair.Create("c", complex64)]));
        Assert.Throws<ArgumentException>(() => Safetensors.Save(path, [KeyValuePair.Create("x", good)], new Dictionary<string, string> { [half] = "v" }));
        Assert.Throws<ArgumentException>(() => Safetensors.Save(path, [KeyValuePair.Create("x", good)], new Dictionary<string, string> { ["k"] = null! }));

        Assert.Equal(original, File.ReadAllBytes(path));
        Assert.Equal([Path.GetFileName(path)], dir.Listing());
        Assert.False(good.IsInvalid);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    [InlineData(100)]   // inside the header
    [InlineData(200)]   // inside the data
    [InlineData(-1)]    // every byte written, then the flush fails
    public void Save_FailingMidway_LeavesTheExistingFileByteIdentical_AndNoTemporaryFile(long failAfter)
    {
        using var dir = new TempDir();
        string path = dir.PathOf("model.safetensors");
        byte[] original = Encoding.UTF8.GetBytes("the previous checkpoint");
        File.WriteAllBytes(path, original);
        using var scope = NewDisposeScope();
        var tensors = new[] { KeyValuePair.Create("a", randn(16, 16)), KeyValuePair.Create("b", randn(64)) };

        var e = Assert.Throws<IOException>(() =>
            Safetensors.Save(path, tensors, null, chunkBytes: 64, wrapStream: s => new FailingStream(s, failAfter)));
        Assert.Contains("simulated", e.Message);
        Assert.Equal(original, File.ReadAllBytes(path));
        Assert.Equal([Path.GetFileName(path)], dir.Listing());

        // With no file before, a failed save leaves nothing at all.
        string fresh = dir.PathOf("fresh.safetensors");
        Assert.Throws<IOException>(() => Safetensors.Save(fresh, tensors, null, 64, s => new FailingStream(s, failAfter)));
        Assert.Equal([Path.GetFileName(path)], dir.Listing());

        // The same save without the failure succeeds (so the failure above was the injected one).
        Safetensors.Save(path, tensors, null, 64, s => new FailingStream(s, long.MaxValue));
        using var file = Safetensors.Load(path);
        Assert.Equal(BytesOf(tensors[0].Value), BytesOf(file.Tensors["a"]));
    }

    // ---- rejection of malformed files --------------------------------------------------------

    private const string ValidHeader = """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"I16","shape":[3],"data_offsets":[8,14]}}""";
}
