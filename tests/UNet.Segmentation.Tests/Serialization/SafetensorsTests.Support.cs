using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using UNet.Segmentation.Torch.Serialization;
using UNet.Segmentation.Torch.Tests.Peer;
using Xunit.Abstractions;

namespace UNet.Segmentation.Torch.Tests.Serialization;

public sealed partial class SafetensorsTests
{
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
