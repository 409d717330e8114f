using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using UNet.Segmentation.Torch.Serialization;
using UNet.Segmentation.Torch.Tests.Peer;
using Xunit.Abstractions;

namespace UNet.Segmentation.Torch.Tests.Serialization;

public sealed class SafetensorsTests(ITestOutputHelper output)
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
        long baseline = SettledLiveTensorCount();
        using (var scope = TensorScope.Begin())
        {
            var tensors = SampleTensors();
            Assert.Equal(Enum.GetValues<ScalarType>().Order(), tensors.Select(t => t.Value.Dtype).Distinct().Order());
            Safetensors.Save(path, tensors, metadata, chunkBytes, wrapStream: null);

            using var file = Safetensors.Load(path, device: null, chunkBytes);
            Assert.Equal(CodePointOrder(tensors.Select(t => t.Key)), file.Tensors.Keys);
            foreach (var (name, expected) in tensors)
            {
                var actual = file.Tensors[name];
                Assert.Equal(expected.Dtype, actual.Dtype);
                Assert.Equal(expected.Shape, actual.Shape);
                Assert.Equal(Device.Cpu, actual.Device);
                Assert.True(actual.IsContiguous());
                Assert.Equal(BytesOf(expected), BytesOf(actual));
            }
            Assert.Equal(metadata.Append(KeyValuePair.Create("format", "pt")).OrderBy(kv => kv.Key, StringComparer.Ordinal),
                file.Metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal));
            Assert.Equal(0, file.Tensors["scalar"].Dim);
            Assert.Equal(3.25, file.Tensors["scalar"].ToDouble());
            Assert.Equal(0, file.Tensors["empty"].NumberOfElements);
        }
        Assert.Equal(baseline, LibTorch.LiveTensorCount); // no GC here: a finalizer must not hide a leak
    }

    [Fact]
    public void Save_WritesAnAlignedHeader_MetadataFirst_FormatPt_NamesInCodePointOrder_DataWithoutGaps()
    {
        using var dir = new TempDir();
        string path = dir.PathOf("layout.safetensors");
        string[] names = ["b", "a", "high-\U0001F600", "high-\uFB01", "a.b", "B"];
        using (var scope = TensorScope.Begin())
            Safetensors.Save(path, names.Select((n, i) => KeyValuePair.Create(n, Tensor.Full([i + 1], i, ScalarType.Int16))),
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
        using (var scope = TensorScope.Begin())
            Safetensors.Save(path, [KeyValuePair.Create("w", Tensor.Ones([3]))], new Dictionary<string, string> { ["format"] = "np" });
        using var file = Safetensors.Load(path);
        Assert.Equal("np", Assert.Single(file.Metadata).Value);
        Assert.Equal([1f, 1f, 1f], file.Tensors["w"].ToArray<float>());
        Assert.Equal([Path.GetFileName(path)], dir.Listing());
    }

    [Fact]
    public void ReadHeader_ReportsEntriesInOffsetOrder_WithoutCreatingTensors()
    {
        using var dir = new TempDir();
        string path = dir.PathOf("h.safetensors");
        using (var scope = TensorScope.Begin())
            Safetensors.Save(path, [KeyValuePair.Create("z", Tensor.Zeros([2, 3], ScalarType.BFloat16)), KeyValuePair.Create("a", Tensor.Zeros([], ScalarType.Bool))]);
        long before = SettledLiveTensorCount();
        var (metadata, entries) = Safetensors.ReadHeader(path);
        Assert.Equal(before, LibTorch.LiveTensorCount);
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
        using (var scope = TensorScope.Begin()) Safetensors.Save(path, SampleTensors());
        int count = Safetensors.ReadHeader(path).Entries.Count;

        long baseline = SettledLiveTensorCount();
        var file = Safetensors.Load(path);
        Assert.Equal(baseline + count, LibTorch.LiveTensorCount);
        file.Dispose();
        Assert.Equal(baseline, LibTorch.LiveTensorCount);
        Assert.Empty(file.Tensors);
        file.Dispose(); // idempotent

        Tensor taken;
        using (var scope = TensorScope.Begin())
        using (var second = Safetensors.Load(path))
        {
            // Loaded inside a scope, the tensors still belong to the file, not the scope.
            Assert.Equal(0, scope.Count);
            taken = second.Take("f32");
            Assert.False(second.Tensors.ContainsKey("f32"));
            Assert.Throws<KeyNotFoundException>(() => second.Take("f32"));
        }
        Assert.False(taken.IsDisposed);
        Assert.Equal(baseline + 1, LibTorch.LiveTensorCount);
        Assert.Equal(8, taken.NumberOfElements);
        taken.Dispose();
        Assert.Equal(baseline, LibTorch.LiveTensorCount);
        Assert.Throws<ObjectDisposedException>(() => file.Take("f64"));
    }

    [Fact]
    public void Load_ThatFailsOnALaterTensor_DisposesTheTensorsAlreadyRead()
    {
        using var dir = new TempDir();
        string path = dir.PathOf("bad-bool.safetensors");
        File.WriteAllBytes(path, Build("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"BOOL","shape":[3],"data_offsets":[8,11]}}""",
            [0, 0, 128, 63, 0, 0, 0, 64, 1, 0, 2]));
        long baseline = SettledLiveTensorCount();
        var e = Assert.Throws<SafetensorsFormatException>(() => Safetensors.Load(path));
        Assert.Equal("b", e.TensorName);
        Assert.Contains("not a BOOL value", e.Message);
        Assert.Equal(baseline, LibTorch.LiveTensorCount); // no GC here: a finalizer must not hide a leak
    }

    [Fact]
    public void Load_OntoCuda_WhenADeviceIsPresent()
    {
        if (!Cuda.IsAvailable)
        {
            Report("no CUDA device: the GPU load path was not exercised");
            return;
        }
        using var dir = new TempDir();
        string path = dir.PathOf("gpu.safetensors");
        using var scope = TensorScope.Begin();
        var tensors = SampleTensors();
        Safetensors.Save(path, tensors.Select(kv => KeyValuePair.Create(kv.Key, kv.Value.To(Device.Cuda()))).ToList());
        foreach (int chunk in new[] { Safetensors.DefaultChunkBytes, 8 })
        {
            using var file = Safetensors.Load(path, Device.Cuda(), chunk);
            foreach (var (name, expected) in tensors)
            {
                Assert.Equal(Device.Cuda(), file.Tensors[name].Device);
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
        using var scope = TensorScope.Begin();
        var good = Tensor.Ones([2]);
        var disposed = Tensor.Ones([2]);
        disposed.Dispose();
        var half = "a\uD800b"; // a lone surrogate: not encodable as UTF-8

        Assert.Throws<ObjectDisposedException>(() => Safetensors.Save(path, [KeyValuePair.Create("good", good), KeyValuePair.Create("gone", disposed)]));
        Assert.Throws<ArgumentException>(() => Safetensors.Save(path, [KeyValuePair.Create("", good)]));
        Assert.Throws<ArgumentException>(() => Safetensors.Save(path, [KeyValuePair.Create("__metadata__", good)]));
        Assert.Throws<ArgumentException>(() => Safetensors.Save(path, [KeyValuePair.Create("x", good), KeyValuePair.Create("x", good)]));
        Assert.Throws<ArgumentException>(() => Safetensors.Save(path, [KeyValuePair.Create(half, good)]));
        Assert.Throws<ArgumentException>(() => Safetensors.Save(path, [KeyValuePair.Create("x", (Tensor)null!)]));
        Assert.Throws<ArgumentException>(() => Safetensors.Save(path, [KeyValuePair.Create("x", good)], new Dictionary<string, string> { [half] = "v" }));
        Assert.Throws<ArgumentException>(() => Safetensors.Save(path, [KeyValuePair.Create("x", good)], new Dictionary<string, string> { ["k"] = null! }));

        Assert.Equal(original, File.ReadAllBytes(path));
        Assert.Equal([Path.GetFileName(path)], dir.Listing());
        Assert.False(good.IsDisposed);
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
        using var scope = TensorScope.Begin();
        var tensors = new[] { KeyValuePair.Create("a", Tensor.Randn([16, 16])), KeyValuePair.Create("b", Tensor.Randn([64])) };

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
    private static readonly byte[] ValidData = [0, 0, 128, 63, 0, 0, 0, 192, 1, 0, 2, 0, 255, 255];

    private sealed record Malformed(byte[] Bytes, string Fragment, string? Tensor = null, bool HeaderIsValid = false);

    private static readonly Dictionary<string, Malformed> MalformedCases = BuildMalformedCases();

    public static TheoryData<string> MalformedCaseNames() => new(MalformedCases.Keys);

    private static Dictionary<string, Malformed> BuildMalformedCases()
    {
        var cases = new Dictionary<string, Malformed>();
        byte[] valid = Build(ValidHeader, ValidData);
        int n = Encoding.UTF8.GetByteCount(ValidHeader);
        foreach (int cut in new[] { 0, 1, 7 })
            cases[$"truncated-at-{cut}"] = new(valid[..cut], "fewer than the 8");
        foreach (int cut in new[] { 8, 9, 8 + n / 2, 8 + n - 1 })
            cases[$"truncated-at-{cut}"] = new(valid[..cut], "runs past the end");
        foreach (int cut in new[] { 8 + n, 8 + n + 3, valid.Length - 1 })
            cases[$"truncated-at-{cut}"] = new(valid[..cut], "incomplete buffer");

        cases["header-length-max-u64"] = new(Build(ValidHeader, ValidData, ulong.MaxValue), "exceeds the limit");
        cases["header-length-over-limit"] = new(Build(ValidHeader, ValidData, 100_000_001), "exceeds the limit");
        cases["header-length-past-end"] = new(Build(ValidHeader, ValidData, (ulong)(n + ValidData.Length + 1)), "runs past the end");
        cases["header-length-short"] = new(Build(ValidHeader, ValidData, (ulong)n - 1), "not valid JSON");
        cases["empty-header"] = new(Build("", []), "does not start with '{'");
        cases["header-starts-with-bracket"] = new(Build("[" + ValidHeader[1..^1] + "]", ValidData), "does not start with '{'");
        cases["header-starts-with-space"] = new(Build(" " + ValidHeader, ValidData), "does not start with '{'");
        cases["header-invalid-utf8"] = new(Build([(byte)'{', (byte)'"', 0xC3, 0x28, (byte)'"', (byte)':', (byte)'1', (byte)'}'], []), "not valid UTF-8");
        cases["invalid-json"] = new(Build("""{"a":""", []), "not valid JSON");
        cases["json-with-trailing-garbage"] = new(Build("{}x", []), "not valid JSON");
        cases["json-nan"] = new(Build("""{"a":{"dtype":"F32","shape":[NaN],"data_offsets":[0,0]}}""", []), "not valid JSON");
        cases["duplicate-tensor"] = new(Build("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", ValidData[..8]), "appears twice", "a");
        cases["duplicate-field"] = new(Build("""{"a":{"dtype":"F32","dtype":"I32","shape":[2],"data_offsets":[0,8]}}""", ValidData[..8]), "appears twice", "a");
        cases["duplicate-metadata-key"] = new(Build("""{"__metadata__":{"k":"1","k":"2"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", ValidData[..8]), "appears twice");
        cases["duplicate-metadata"] = new(Build("""{"__metadata__":{},"__metadata__":{},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", ValidData[..8]), "appears twice");
        cases["missing-dtype"] = new(Build("""{"a":{"shape":[2],"data_offsets":[0,8]}}""", ValidData[..8]), "has no 'dtype'", "a");
        cases["missing-shape"] = new(Build("""{"a":{"dtype":"F32","data_offsets":[0,8]}}""", ValidData[..8]), "has no 'shape'", "a");
        cases["missing-data-offsets"] = new(Build("""{"a":{"dtype":"F32","shape":[2]}}""", ValidData[..8]), "has no 'data_offsets'", "a");
        cases["entry-not-an-object"] = new(Build("""{"a":[1,2]}""", []), "not an object", "a");
        cases["dtype-not-a-string"] = new(Build("""{"a":{"dtype":4,"shape":[2],"data_offsets":[0,8]}}""", ValidData[..8]), "not a string", "a");
        cases["negative-shape"] = new(Build("""{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}""", ValidData[..8]), "not a non-negative integer", "a");
        cases["fractional-shape"] = new(Build("""{"a":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}}""", ValidData[..8]), "not a non-negative integer", "a");
        cases["string-shape"] = new(Build("""{"a":{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}}""", ValidData[..8]), "not a non-negative integer", "a");
        cases["shape-not-an-array"] = new(Build("""{"a":{"dtype":"F32","shape":2,"data_offsets":[0,8]}}""", ValidData[..8]), "not an array", "a");
        cases["shape-overflow"] = new(Build("""{"a":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,0]}}""", []), "overflows", "a");
        cases["bytes-overflow"] = new(Build("""{"a":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,0]}}""", []), "overflows", "a");
        cases["three-offsets"] = new(Build("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8,8]}}""", ValidData[..8]), "two integers", "a");
        cases["negative-offset"] = new(Build("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}}""", ValidData[..8]), "not a non-negative integer", "a");
        cases["reversed-offsets"] = new(Build("""{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}""", ValidData[..8]), "invalid offset", "a");
        cases["overlapping-offsets"] = new(Build("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"I16","shape":[3],"data_offsets":[4,10]}}""", ValidData[..10]), "invalid offset", "b");
        cases["gap-between-tensors"] = new(Build("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"I16","shape":[3],"data_offsets":[10,16]}}""", [.. ValidData, 0, 0]), "invalid offset", "b");
        cases["data-not-from-zero"] = new(Build("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[2,10]}}""", ValidData[..10]), "invalid offset", "a");
        cases["size-mismatch"] = new(Build("""{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}""", ValidData[..8]), "need 12", "a");
        cases["trailing-bytes"] = new(Build(ValidHeader, [.. ValidData, 7]), "incomplete buffer");
        cases["data-but-no-tensors"] = new(Build("{}", [1, 2, 3]), "incomplete buffer");
        cases["unsupported-dtype-u32"] = new(Build("""{"a":{"dtype":"U32","shape":[2],"data_offsets":[0,8]}}""", ValidData[..8]), "not supported by this binding", "a");
        cases["unsupported-dtype-f8"] = new(Build("""{"a":{"dtype":"F8_E4M3","shape":[8],"data_offsets":[0,8]}}""", ValidData[..8]), "not supported by this binding", "a");
        cases["unknown-dtype"] = new(Build("""{"a":{"dtype":"Q7","shape":[8],"data_offsets":[0,8]}}""", ValidData[..8]), "unknown dtype", "a");
        cases["metadata-not-an-object"] = new(Build("""{"__metadata__":["x"]}""", []), "not an object");
        cases["metadata-value-not-a-string"] = new(Build("""{"__metadata__":{"epoch":3}}""", []), "not a string");
        cases["lone-surrogate-name"] = new(Build("""{"\ud800":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", ValidData[..8]), "not valid Unicode");
        cases["bool-byte-not-0-or-1"] = new(Build("""{"t":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]}}""", [1, 2]), "not a BOOL value", "t", HeaderIsValid: true);
        return cases;
    }

    [Fact]
    public void TheValidControlFileOfTheRejectionCases_Loads()
    {
        using var dir = new TempDir();
        string path = dir.PathOf("valid.safetensors");
        File.WriteAllBytes(path, Build(ValidHeader, ValidData));
        using var file = Safetensors.Load(path);
        Assert.Equal([1f, -2f], file.Tensors["a"].ToArray<float>());
        Assert.Equal([(short)1, (short)2, (short)-1], file.Tensors["b"].ToArray<short>());
        Assert.Empty(file.Metadata);
    }

    [Theory]
    [MemberData(nameof(MalformedCaseNames))]
    public void Load_RejectsAMalformedFile_WithAMessageNamingTheFileAndTheProblem(string caseName)
    {
        var c = MalformedCases[caseName];
        using var dir = new TempDir();
        string path = dir.PathOf(caseName + ".safetensors");
        File.WriteAllBytes(path, c.Bytes);
        long baseline = SettledLiveTensorCount();

        var e = Assert.Throws<SafetensorsFormatException>(() => Safetensors.Load(path).Dispose());
        output.WriteLine(e.Message);
        Assert.Equal(path, e.FilePath);
        Assert.Contains(Path.GetFileName(path), e.Message);
        Assert.Contains(c.Fragment, e.Message);
        Assert.Equal(c.Tensor, e.TensorName);
        if (c.Tensor is not null) Assert.Contains($"'{c.Tensor}'", e.Message);
        Assert.IsAssignableFrom<FormatException>(e);

        if (c.HeaderIsValid)
        {
            Safetensors.ReadHeader(path);
        }
        else
        {
            var h = Assert.Throws<SafetensorsFormatException>(() => Safetensors.ReadHeader(path));
            Assert.Equal(e.Message, h.Message);
        }
        Assert.Equal(baseline, LibTorch.LiveTensorCount); // no GC here: a finalizer must not hide a leak
    }

    [Fact]
    public void Load_OfAMissingFile_IsAnIOException()
    {
        using var dir = new TempDir();
        Assert.Throws<FileNotFoundException>(() => Safetensors.Load(dir.PathOf("absent.safetensors")));
        Assert.Throws<FileNotFoundException>(() => Safetensors.ReadHeader(dir.PathOf("absent.safetensors")));
    }

    [Fact]
    public void HeaderByteFlips_OnlyEverLoadOrThrowSafetensorsFormatException()
    {
        using var dir = new TempDir();
        string source = dir.PathOf("source.safetensors");
        using (var scope = TensorScope.Begin())
        {
            Safetensors.Save(source,
            [
                KeyValuePair.Create("w", Tensor.Randn([2, 3])),
                KeyValuePair.Create("flags", Tensor.From<bool>([true, false, true, true])),
                KeyValuePair.Create("steps", Tensor.From<long>([7, 11])),
                KeyValuePair.Create("h", Tensor.Zeros([4], ScalarType.BFloat16)),
                KeyValuePair.Create("empty", Tensor.Zeros([0])),
            ], new Dictionary<string, string> { ["epoch"] = "3" });
        }
        byte[] original = File.ReadAllBytes(source);
        int headerEnd = 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(original);
        byte[] structural = "{}[]\":,0123456789-. eE\\u"u8.ToArray();
        string path = dir.PathOf("mutant.safetensors");
        var random = new Random(20_12);
        int loaded = 0, rejected = 0;
        long baseline = SettledLiveTensorCount();
        for (int iteration = 0; iteration < 2000; iteration++)
        {
            byte[] mutant = (byte[])original.Clone();
            int flips = random.Next(1, 4);
            for (int f = 0; f < flips; f++)
            {
                int at = random.Next(headerEnd);
                mutant[at] = random.Next(2) == 0 ? (byte)(mutant[at] ^ random.Next(1, 256)) : structural[random.Next(structural.Length)];
            }
            File.WriteAllBytes(path, mutant);
            try
            {
                using var file = Safetensors.Load(path);
                loaded++;
            }
            catch (Exception e)
            {
                if (e is not SafetensorsFormatException)
                    Assert.Fail($"iteration {iteration}: {e.GetType().FullName}: {e.Message}\nheader: {Encoding.UTF8.GetString(mutant, 8, Math.Max(0, headerEnd - 8))}");
                Assert.Contains("mutant.safetensors", e.Message);
                rejected++;
            }
        }
        output.WriteLine($"{loaded} mutants loaded, {rejected} rejected");
        Assert.True(rejected > 1000, $"only {rejected} of 2000 mutants were rejected");
        Assert.Equal(baseline, LibTorch.LiveTensorCount); // no GC here: a finalizer must not hide a leak
    }

    // ---- parity with the Python peer ---------------------------------------------------------

    [Fact]
    public void PythonWrittenFile_LoadsInCSharp_WithPythonsValues()
    {
        if (!PythonPeer.Require(output)) return;
        using var dir = new TempDir();
        string path = dir.PathOf("python.safetensors");
        using var summary = JsonDocument.Parse(PythonPeer.Run(Cli, "write-sample", path));

        using var file = Safetensors.Load(path);
        AssertMatchesSummary(summary.RootElement, file.Tensors, file.Metadata);
        Assert.Equal(Enum.GetValues<ScalarType>().Order(), file.Tensors.Values.Select(t => t.Dtype).Distinct().Order());
        Assert.Equal("pt", file.Metadata["format"]);
        Assert.Equal("ünï \"quoted\" \\ back\nslash", file.Metadata["note"]);
    }

    [Fact]
    public void CSharpWrittenFile_LoadsInPython_WithTheSameValues()
    {
        if (!PythonPeer.Require(output)) return;
        using var dir = new TempDir();
        string path = dir.PathOf("csharp.safetensors");
        var metadata = new Dictionary<string, string> { ["source"] = "csharp", ["note"] = "ünï \"q\" \\\n\t€😀" };
        using var scope = TensorScope.Begin();
        var tensors = SampleTensors();
        Safetensors.Save(path, tensors, metadata);

        using var summary = JsonDocument.Parse(PythonPeer.Run(Cli, "dump", path));
        var expected = new Dictionary<string, Tensor>(tensors);
        var ordered = CodePointOrder(expected.Keys).ToDictionary(k => k, k => expected[k]);
        AssertMatchesSummary(summary.RootElement, ordered, new Dictionary<string, string>(metadata) { ["format"] = "pt" });
    }

    [Fact]
    public void TheTwoWriters_ProduceIdenticalBytes_ForTheSameTensors()
    {
        if (!PythonPeer.Require(output)) return;
        using var dir = new TempDir();

        // Python writes, C# rewrites what it read.
        string python = dir.PathOf("python.safetensors"), csharpCopy = dir.PathOf("csharp-copy.safetensors");
        PythonPeer.Run(Cli, "write-sample", python);
        using (var file = Safetensors.Load(python))
            Safetensors.Save(csharpCopy, file.Tensors, file.Metadata);
        Assert.Equal(File.ReadAllBytes(python), File.ReadAllBytes(csharpCopy));

        // C# writes, Python rewrites what it read.
        string csharp = dir.PathOf("csharp.safetensors"), pythonCopy = dir.PathOf("python-copy.safetensors");
        using (var scope = TensorScope.Begin())
            Safetensors.Save(csharp, SampleTensors(), new Dictionary<string, string> { ["k"] = "v\u0007" });
        PythonPeer.Run(Cli, "resave", csharp, pythonCopy);
        Assert.Equal(File.ReadAllBytes(csharp), File.ReadAllBytes(pythonCopy));
    }

    [Fact]
    public void MalformedFiles_AreRejectedByThePythonPeerToo()
    {
        if (!PythonPeer.Require(output)) return;
        using var dir = new TempDir();
        var paths = new List<string>();
        string valid = dir.PathOf("valid.safetensors");
        File.WriteAllBytes(valid, Build(ValidHeader, ValidData));
        foreach (var (name, c) in MalformedCases)
        {
            paths.Add(dir.PathOf(name + ".safetensors"));
            File.WriteAllBytes(paths[^1], c.Bytes);
        }
        using var verdicts = JsonDocument.Parse(PythonPeer.Run(Cli, ["validate", valid, .. paths]));
        Assert.Equal(JsonValueKind.Null, verdicts.RootElement.GetProperty(valid).ValueKind);
        foreach (var path in paths)
        {
            var verdict = verdicts.RootElement.GetProperty(path);
            Assert.True(verdict.ValueKind == JsonValueKind.String, $"the Python peer accepted {Path.GetFileName(path)}");
            output.WriteLine(verdict.GetString());
        }
    }

    // ---- helpers -----------------------------------------------------------------------------

    private void Report(string message)
    {
        output.WriteLine(message);
        Console.WriteLine(message);
    }

    /// <summary>Every dtype, special values, a 0-d and empty tensors, a non-contiguous one, one that requires grad, awkward names.</summary>
    private static List<KeyValuePair<string, Tensor>> SampleTensors()
    {
        LibTorch.ManualSeed(0);
        var list = new List<KeyValuePair<string, Tensor>>();
        void Add(string name, Tensor t) => list.Add(KeyValuePair.Create(name, t));
        Add("f64", Tensor.From<double>([0.0, -0.0, double.PositiveInfinity, double.NegativeInfinity, double.NaN, double.Epsilon, double.MaxValue, 1.0 / 3], [2, 4]));
        Add("f64.randn", Tensor.Randn([3, 5], ScalarType.Float64));
        Add("f32", Tensor.From<float>([0f, -0f, float.PositiveInfinity, float.NegativeInfinity, float.NaN, float.Epsilon, float.MaxValue, 0.1f], [8]));
        Add("f32.randn", Tensor.Randn([5, 7]));
        Add("f16", Tensor.From<Half>([(Half)0, Half.NegativeZero, Half.PositiveInfinity, Half.NegativeInfinity, Half.NaN, Half.Epsilon, Half.MaxValue, (Half)(1.0 / 3)], [2, 2, 2]));
        ushort[] bf16Bits = [0x0000, 0x8000, 0x7F80, 0xFF80, 0x7FC0, 0x0001, 0x7F7F, 0x3EAB, 0xBF80];
        var bf16Bytes = new byte[bf16Bits.Length * 2];
        for (int i = 0; i < bf16Bits.Length; i++) BinaryPrimitives.WriteUInt16LittleEndian(bf16Bytes.AsSpan(2 * i), bf16Bits[i]);
        Add("bf16", Tensor.FromBytes(bf16Bytes, [3, 3], ScalarType.BFloat16));
        Add("bf16.randn", Tensor.Randn([4, 3]).To(ScalarType.BFloat16));
        Add("i64", Tensor.From<long>([long.MinValue, long.MaxValue, 0, -1, 123_456_789_012_345, 9_007_199_254_740_993]));
        Add("i32", Tensor.From<int>([int.MinValue, int.MaxValue, 0, -1, 16_777_217], [5, 1]));
        Add("i16", Tensor.From<short>([short.MinValue, short.MaxValue, 0, -1]));
        Add("i8", Tensor.From<sbyte>([sbyte.MinValue, sbyte.MaxValue, 0, -1]));
        Add("u8", Tensor.From<byte>([0, 255, 1, 128], [2, 2]));
        Add("bool", Tensor.From<bool>([true, false, true, true, false]));
        Add("bool.big", Tensor.From<bool>(Enumerable.Range(0, 28).Select(i => i % 3 == 0).ToArray(), [4, 7]));
        Add("scalar", Tensor.Scalar(3.25));
        Add("scalar.i64", Tensor.Full([], 7, ScalarType.Int64));
        Add("empty", Tensor.Zeros([0, 3]));
        Add("empty.bf16", Tensor.Empty([2, 0], ScalarType.BFloat16));
        Add("transposed", Tensor.Arange(0, 12).Reshape(3, 4).Transpose(0, 1));
        Add("requires.grad", Tensor.Randn([3]).RequiresGrad_());
        Add("encoder.0.conv1.weight", Tensor.Randn([2, 1, 3, 3]));
        Add("odd \"name\" \\ with\ttab\u0001", Tensor.Randn([2]));
        Add("ünïcödé/€", Tensor.Randn([1, 2]));
        Add("high-\U0001F600", Tensor.Randn([1]));
        Add("high-\uFB01", Tensor.Randn([1]));
        return list;
    }

    /// <summary>Compares a Python summary (safetensors_cli.py) with C# tensors: order, dtype, shape, bytes and float64/int64 values.</summary>
    private static void AssertMatchesSummary(JsonElement summary, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        var pyMeta = summary.GetProperty("metadata").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
        Assert.Equal(metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal), pyMeta.OrderBy(kv => kv.Key, StringComparer.Ordinal));
        var entries = summary.GetProperty("tensors").EnumerateArray().ToList();
        Assert.Equal(tensors.Keys, entries.Select(e => e.GetProperty("name").GetString()!));
        using var scope = TensorScope.Begin();
        foreach (var entry in entries)
        {
            string name = entry.GetProperty("name").GetString()!;
            var t = tensors[name];
            Assert.Equal(entry.GetProperty("dtype").GetString(), Safetensors.DtypeCode(t.Dtype));
            Assert.Equal(entry.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()), t.Shape);
            Assert.Equal(entry.GetProperty("hex").GetString(), Convert.ToHexStringLower(BytesOf(t)));
            var values = entry.GetProperty("values").EnumerateArray().ToList();
            Assert.Equal(t.NumberOfElements, values.Count);
            if (t.Dtype.IsFloatingPoint())
            {
                var ours = t.Detach().To(ScalarType.Float64).ToArray<double>();
                for (int i = 0; i < ours.Length; i++)
                {
                    var v = values[i];
                    if (v.ValueKind == JsonValueKind.String)
                    {
                        string s = v.GetString()!;
                        Assert.True(s switch { "nan" => double.IsNaN(ours[i]), "inf" => double.IsPositiveInfinity(ours[i]), "-inf" => double.IsNegativeInfinity(ours[i]), _ => false },
                            $"{name}[{i}]: Python {s}, C# {ours[i]}");
                    }
                    else
                    {
                        Assert.True(BitConverter.DoubleToInt64Bits(v.GetDouble()) == BitConverter.DoubleToInt64Bits(ours[i]),
                            $"{name}[{i}]: Python {v.GetRawText()}, C# {ours[i]:R}");
                    }
                }
            }
            else
            {
                Assert.Equal(values.Select(v => v.GetInt64()), t.To(ScalarType.Int64).ToArray<long>());
            }
        }
    }

    private static byte[] BytesOf(Tensor t)
    {
        var bytes = new byte[t.NumberOfElements * t.Dtype.ElementSize()];
        t.CopyBytesTo(bytes);
        return bytes;
    }

    /// <summary>Names in Unicode code-point order (the order of their UTF-8 bytes), as both writers sort them.</summary>
    private static List<string> CodePointOrder(IEnumerable<string> names) =>
        names.Select(n => (Name: n, Utf8: Encoding.UTF8.GetBytes(n)))
            .OrderBy(x => x.Utf8, Comparer<byte[]>.Create((a, b) => a.AsSpan().SequenceCompareTo(b)))
            .Select(x => x.Name).ToList();

    private static byte[] Build(string header, byte[] data, ulong? declaredLength = null) => Build(Encoding.UTF8.GetBytes(header), data, declaredLength);

    private static byte[] Build(byte[] header, byte[] data, ulong? declaredLength = null)
    {
        var bytes = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, declaredLength ?? (ulong)header.Length);
        header.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + header.Length);
        return bytes;
    }

    /// <summary>The live count once earlier tests' garbage is finalized and freed; measure the end of a test without GC, so a finalizer cannot hide a leak.</summary>
    private static long SettledLiveTensorCount()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        LibTorch.FreeDeferred();
        return LibTorch.LiveTensorCount;
    }

    private sealed class TempDir : IDisposable
    {
        public TempDir()
        {
            Root = Path.Combine(Path.GetTempPath(), "unet-safetensors-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(Root);
        }

        public string Root { get; }

        public string PathOf(string name) => Path.Combine(Root, name);

        public string[] Listing() => Directory.GetFileSystemEntries(Root).Select(p => Path.GetFileName(p)!).Order(StringComparer.Ordinal).ToArray();

        public void Dispose()
        {
            try
            {
                Directory.Delete(Root, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>Passes writes through until <c>failAfter</c> bytes, then fails like a full disk (a negative limit fails the flush instead).</summary>
    private sealed class FailingStream(Stream inner, long failAfter) : Stream
    {
        private long _written;

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _written; set => throw new NotSupportedException(); }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (failAfter >= 0 && _written + buffer.Length > failAfter)
            {
                int allowed = (int)Math.Max(0, failAfter - _written);
                inner.Write(buffer[..allowed]);
                _written += allowed;
                throw new IOException($"simulated: no space left on device after {_written} bytes");
            }
            inner.Write(buffer);
            _written += buffer.Length;
        }

        public override void Flush()
        {
            if (failAfter < 0) throw new IOException("simulated: the flush failed");
            inner.Flush();
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
