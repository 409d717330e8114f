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
    /// <summary>The dtypes safetensors files here hold (TorchSharp has more; those are rejected).</summary>
    private static readonly ScalarType[] SupportedDtypes =
    [
        ScalarType.Float64, ScalarType.Float32, ScalarType.Float16, ScalarType.BFloat16, ScalarType.Int64,
        ScalarType.Int32, ScalarType.Int16, ScalarType.Int8, ScalarType.Byte, ScalarType.Bool,
    ];

    /// <summary>Every dtype, special values, a 0-d and empty tensors, a non-contiguous one, one that requires grad, awkward names.</summary>
    private static List<KeyValuePair<string, Tensor>> SampleTensors()
    {
        manual_seed(0);
        var list = new List<KeyValuePair<string, Tensor>>();
        void Add(string name, Tensor t) => list.Add(KeyValuePair.Create(name, t));
        Add("f64", tensor(new[] { 0.0, -0.0, double.PositiveInfinity, double.NegativeInfinity, double.NaN, double.Epsilon, double.MaxValue, 1.0 / 3 }, new long[] { 2, 4 }));
        Add("f64.randn", randn(3, 5, ScalarType.Float64));
        Add("f32", tensor(new[] { 0f, -0f, float.PositiveInfinity, float.NegativeInfinity, float.NaN, float.Epsilon, float.MaxValue, 0.1f }, new long[] { 8 }));
        Add("f32.randn", randn(5, 7));
        Add("f16", tensor(new[] { (Half)0, Half.NegativeZero, Half.PositiveInfinity, Half.NegativeInfinity, Half.NaN, Half.Epsilon, Half.MaxValue, (Half)(1.0 / 3) }, new long[] { 2, 2, 2 }));
        ushort[] bf16Bits = [0x0000, 0x8000, 0x7F80, 0xFF80, 0x7FC0, 0x0001, 0x7F7F, 0x3EAB, 0xBF80];
        var bf16Bytes = new byte[bf16Bits.Length * 2];
        for (int i = 0; i < bf16Bits.Length; i++) BinaryPrimitives.WriteUInt16LittleEndian(bf16Bytes.AsSpan(2 * i), bf16Bits[i]);
        var bf16 = empty(new long[] { 3, 3 }, ScalarType.BFloat16);
        bf16.bytes = bf16Bytes;
        Add("bf16", bf16);
        Add("bf16.randn", randn(4, 3).to(ScalarType.BFloat16));
        Add("i64", tensor(new[] { long.MinValue, long.MaxValue, 0, -1, 123_456_789_012_345, 9_007_199_254_740_993 }));
        Add("i32", tensor(new[] { int.MinValue, int.MaxValue, 0, -1, 16_777_217 }, new long[] { 5, 1 }));
        Add("i16", tensor(new short[] { short.MinValue, short.MaxValue, 0, -1 }));
        Add("i8", tensor(new sbyte[] { sbyte.MinValue, sbyte.MaxValue, 0, -1 }));
        Add("u8", tensor(new byte[] { 0, 255, 1, 128 }, new long[] { 2, 2 }));
        Add("bool", tensor(new[] { true, false, true, true, false }));
        Add("bool.big", tensor(Enumerable.Range(0, 28).Select(i => i % 3 == 0).ToArray(), new long[] { 4, 7 }));
        Add("scalar", tensor(3.25f));
        Add("scalar.i64", tensor(7L));
        Add("empty", zeros(0, 3));
        Add("empty.bf16", empty(new long[] { 2, 0 }, ScalarType.BFloat16));
        Add("transposed", arange(0, 12, ScalarType.Float32).reshape(3, 4).transpose(0, 1));
        Add("requires.grad", randn(3).requires_grad_());
        Add("encoder.0.conv1.weight", randn(2, 1, 3, 3));
        Add("odd \"name\" \\ with\ttab\u0001", randn(2));
        Add("ünïcödé/€", randn(1, 2));
        Add("high-\U0001F600", randn(1));
        Add("high-\uFB01", randn(1));
        return list;
    }

    /// <summary>Compares a Python summary (safetensors_cli.py) with C# tensors: order, dtype, shape, bytes and float64/int64 values.</summary>
    private static void AssertMatchesSummary(JsonElement summary, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        var pyMeta = summary.GetProperty("metadata").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
        Assert.Equal(metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal), pyMeta.OrderBy(kv => kv.Key, StringComparer.Ordinal));
        var entries = summary.GetProperty("tensors").EnumerateArray().ToList();
        Assert.Equal(tensors.Keys, entries.Select(e => e.GetProperty("name").GetString()!));
        using var scope = NewDisposeScope();
        foreach (var entry in entries)
        {
            string name = entry.GetProperty("name").GetString()!;
            var t = tensors[name];
            Assert.Equal(entry.GetProperty("dtype").GetString(), Safetensors.DtypeCode(t.dtype));
            Assert.Equal(entry.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()), t.shape);
            Assert.Equal(entry.GetProperty("hex").GetString(), Convert.ToHexStringLower(BytesOf(t)));
            var values = entry.GetProperty("values").EnumerateArray().ToList();
            Assert.Equal(t.numel(), values.Count);
            if (t.is_floating_point())
            {
                var ours = Values<double>(t.detach().to(ScalarType.Float64));
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
                Assert.Equal(values.Select(v => v.GetInt64()), Values<long>(t.to(ScalarType.Int64)));
            }
        }
    }

    /// <summary>A tensor's elements, row-major and little-endian, whatever its device and strides (the safetensors data layout).</summary>
    private static byte[] BytesOf(Tensor t)
    {
        using var scope = NewDisposeScope();
        var host = t.detach().cpu().contiguous();
        byte[] bytes = host.numel() == 0 ? [] : host.bytes.ToArray();
        Assert.Equal(host.numel() * host.ElementSize, bytes.LongLength);
        return bytes;
    }

    /// <summary>A tensor's elements, row-major, as a .NET array (its dtype must match <typeparamref name="T"/>).</summary>
    private static T[] Values<T>(Tensor t) where T : unmanaged
    {
        using var scope = NewDisposeScope();
        var host = t.detach().cpu().contiguous();
        return host.numel() == 0 ? [] : host.data<T>().ToArray();
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
