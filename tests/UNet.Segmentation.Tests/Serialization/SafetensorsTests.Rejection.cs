using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using TorchSharp;
using UNet.Segmentation.Serialization;
using UNet.Segmentation.Tests.Peer;
using UNet.Segmentation.Tests.Shared;
using static TorchSharp.torch;

namespace UNet.Segmentation.Tests.Serialization;

public sealed partial class SafetensorsTests
{
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
        cases["unsupported-dtype-u32"] = new(Build("""{"a":{"dtype":"U32","shape":[2],"data_offsets":[0,8]}}""", ValidData[..8]), "not supported by this library", "a");
        cases["unsupported-dtype-f8"] = new(Build("""{"a":{"dtype":"F8_E4M3","shape":[8],"data_offsets":[0,8]}}""", ValidData[..8]), "not supported by this library", "a");
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
        Assert.Equal([1f, -2f], file.Tensors["a"].data<float>().ToArray());
        Assert.Equal([(short)1, (short)2, (short)-1], file.Tensors["b"].data<short>().ToArray());
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
        long baseline = LiveTensors.SettledCount();

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
        Assert.Equal(baseline, torch.Tensor.TotalCount); // no GC here: a finalizer must not hide a leak
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
        using (var scope = NewDisposeScope())
        {
            Safetensors.Save(source,
            [
                KeyValuePair.Create("w", randn(2, 3)),
                KeyValuePair.Create("flags", tensor(new[] { true, false, true, true })),
                KeyValuePair.Create("steps", tensor(new long[] { 7, 11 })),
                KeyValuePair.Create("h", zeros(4, ScalarType.BFloat16)),
                KeyValuePair.Create("empty", zeros(0)),
            ], new Dictionary<string, string> { ["epoch"] = "3" });
        }
        byte[] original = File.ReadAllBytes(source);
        int headerEnd = 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(original);
        byte[] structural = "{}[]\":,0123456789-. eE\\u"u8.ToArray();
        string path = dir.PathOf("mutant.safetensors");
        var random = new Random(20_12);
        int loaded = 0, rejected = 0;
        long baseline = LiveTensors.SettledCount();
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
        Assert.Equal(baseline, torch.Tensor.TotalCount); // no GC here: a finalizer must not hide a leak
    }

    // ---- parity with the Python peer ---------------------------------------------------------
}
