using System.Buffers;
using System.Buffers.Binary;
using System.Collections.ObjectModel;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using TorchSharp;
using static TorchSharp.torch;

namespace UNet.Segmentation.Serialization;

public static partial class Safetensors
{
    /// <summary>
    /// Writes tensors and metadata to <paramref name="path"/> as safetensors. The write is atomic:
    /// the file is written beside the target under a temporary name, flushed to disk and renamed
    /// over the target, so a failure leaves an existing file untouched (and no temporary file).
    /// </summary>
    /// <param name="path">The file to write; an existing file is replaced.</param>
    /// <param name="tensors">Name and tensor pairs: names non-empty, unique and not
    /// <see cref="MetadataKey"/>. Tensors may live on any device and have any layout; they are
    /// written row-major, in the order of their names (by code point).</param>
    /// <param name="metadata">String metadata; <c>"format": "pt"</c> is added unless a
    /// <c>"format"</c> key is given.</param>
    /// <exception cref="ArgumentException">A name is empty, repeated, reserved or not valid UTF-16;
    /// a tensor is null or has an unsupported dtype; a metadata key or value is null.</exception>
    /// <exception cref="ObjectDisposedException">A tensor is disposed.</exception>
    /// <exception cref="IOException">The file could not be written.</exception>
    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null) =>
        Save(path, tensors, metadata, DefaultChunkBytes, wrapStream: null);

    /// <summary>Save with a chosen piece size and, for tests, a wrapper around the file stream (to inject write failures).</summary>
    internal static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata,
        int chunkBytes, Func<Stream, Stream>? wrapStream)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(tensors);
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkBytes, 8);

        var planned = PlanTensors(tensors);
        var meta = PlanMetadata(metadata);
        byte[] prefix = BuildHeader(meta, planned, out long dataLength);
        long totalLength = checked(prefix.LongLength + dataLength);

        string fullPath = Path.GetFullPath(path);
        string fileName = Path.GetFileName(fullPath);
        if (fileName.Length == 0) throw new ArgumentException($"'{path}' names a folder, not a file", nameof(path));
        string folder = Path.GetDirectoryName(fullPath) ?? throw new ArgumentException($"'{path}' has no folder", nameof(path));
        string temp = Path.Combine(folder, $".{fileName}.{Guid.NewGuid():N}.tmp");
        try
        {
            var options = new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                Share = FileShare.None,
                BufferSize = 0,
                PreallocationSize = totalLength,
            };
            using (var file = new FileStream(temp, options))
            {
                var sink = wrapStream?.Invoke(file) ?? file;
                sink.Write(prefix);
                WriteData(sink, planned, chunkBytes);
                sink.Flush();
                file.Flush(flushToDisk: true);
            }
            File.Move(temp, fullPath, overwrite: true);
        }
        catch
        {
            try
            {
                File.Delete(temp);
            }
            catch (IOException)
            {
                // The original failure is the one worth reporting.
            }
            catch (UnauthorizedAccessException)
            {
            }
            throw;
        }
    }

    private sealed record PlannedTensor(string Name, byte[] NameUtf8, Tensor Tensor, ScalarType Dtype, long[] Shape, long ByteLength);

    private static List<PlannedTensor> PlanTensors(IEnumerable<KeyValuePair<string, Tensor>> tensors)
    {
        var planned = new List<PlannedTensor>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, tensor) in tensors)
        {
            if (string.IsNullOrEmpty(name)) throw new ArgumentException("tensor names must be non-empty", nameof(tensors));
            if (name == MetadataKey) throw new ArgumentException($"'{MetadataKey}' is reserved for the metadata and cannot name a tensor", nameof(tensors));
            if (!names.Add(name)) throw new ArgumentException($"the tensor name '{name}' appears twice", nameof(tensors));
            byte[] utf8 = EncodeUtf8(name, "the tensor name", nameof(tensors));
            if (tensor is null) throw new ArgumentException($"tensor '{name}' is null", nameof(tensors));
            if (tensor.IsInvalid) throw new ObjectDisposedException(nameof(Tensor), $"tensor '{name}' is disposed");
            var dtype = tensor.dtype;
            if (!IsSupported(dtype)) throw new ArgumentException($"tensor '{name}' has dtype {dtype}, which safetensors cannot hold", nameof(tensors));
            long[] shape = tensor.shape;
            long bytes;
            try
            {
                bytes = checked(ElementCount(shape) * ElementSize(dtype));
            }
            catch (OverflowException)
            {
                throw new ArgumentException($"tensor '{name}' is too large to write", nameof(tensors));
            }
            planned.Add(new PlannedTensor(name, utf8, tensor, dtype, shape, bytes));
        }
        // Code-point order (the order of the UTF-8 bytes), as Python's sorted() orders str keys.
        planned.Sort((a, b) => a.NameUtf8.AsSpan().SequenceCompareTo(b.NameUtf8));
        return planned;
    }

    private static List<(byte[] KeyUtf8, string Key, string Value)> PlanMetadata(IReadOnlyDictionary<string, string>? metadata)
    {
        var meta = new List<(byte[] KeyUtf8, string Key, string Value)>();
        bool hasFormat = false;
        if (metadata is not null)
        {
            foreach (var (key, value) in metadata)
            {
                if (key is null) throw new ArgumentException("a metadata key is null", nameof(metadata));
                if (value is null) throw new ArgumentException($"the metadata value of '{key}' is null", nameof(metadata));
                var keyUtf8 = EncodeUtf8(key, "the metadata key", nameof(metadata));
                EncodeUtf8(value, $"the metadata value of '{key}'", nameof(metadata));
                meta.Add((keyUtf8, key, value));
                hasFormat |= key == "format";
            }
        }
        if (!hasFormat) meta.Add(("format"u8.ToArray(), "format", "pt"));
        meta.Sort((a, b) => a.KeyUtf8.AsSpan().SequenceCompareTo(b.KeyUtf8));
        return meta;
    }

    private static byte[] EncodeUtf8(string text, string what, string paramName)
    {
        try
        {
            return StrictUtf8.GetBytes(text);
        }
        catch (EncoderFallbackException)
        {
            throw new ArgumentException($"{what} '{text}' is not valid UTF-16 (it holds a lone surrogate)", paramName);
        }
    }

    /// <summary>The 8-byte length, the JSON header and its space padding (to a multiple of 8 bytes).</summary>
    private static byte[] BuildHeader(List<(byte[] KeyUtf8, string Key, string Value)> meta, List<PlannedTensor> planned, out long dataLength)
    {
        var json = new StringBuilder(128 + 96 * planned.Count);
        json.Append("{\"").Append(MetadataKey).Append("\":{");
        for (int i = 0; i < meta.Count; i++)
        {
            if (i > 0) json.Append(',');
            AppendJsonString(json, meta[i].Key);
            json.Append(':');
            AppendJsonString(json, meta[i].Value);
        }
        json.Append('}');
        long offset = 0;
        foreach (var t in planned)
        {
            json.Append(',');
            AppendJsonString(json, t.Name);
            json.Append(":{\"dtype\":\"").Append(DtypeCode(t.Dtype)).Append("\",\"shape\":[");
            for (int d = 0; d < t.Shape.Length; d++)
            {
                if (d > 0) json.Append(',');
                json.Append(t.Shape[d].ToString(CultureInfo.InvariantCulture));
            }
            long end = checked(offset + t.ByteLength);
            json.Append("],\"data_offsets\":[").Append(offset.ToString(CultureInfo.InvariantCulture))
                .Append(',').Append(end.ToString(CultureInfo.InvariantCulture)).Append("]}");
            offset = end;
        }
        json.Append('}');
        dataLength = offset;

        byte[] header = StrictUtf8.GetBytes(json.ToString());
        long padded = (header.LongLength + 7) / 8 * 8;
        if (padded > MaxHeaderLength)
            throw new ArgumentException($"the header would take {padded} bytes, more than the {MaxHeaderLength} readers accept", "tensors");
        var prefix = new byte[8 + padded];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)padded);
        header.CopyTo(prefix, 8);
        prefix.AsSpan(8 + header.Length).Fill((byte)' ');
        return prefix;
    }

    /// <summary>JSON string escaping as Python's <c>json.dumps(ensure_ascii=False)</c> does it, so both writers emit the same bytes.</summary>
    private static void AppendJsonString(StringBuilder json, string text)
    {
        json.Append('"');
        foreach (char c in text)
        {
            switch (c)
            {
                case '"': json.Append("\\\""); break;
                case '\\': json.Append("\\\\"); break;
                case '\n': json.Append("\\n"); break;
                case '\r': json.Append("\\r"); break;
                case '\t': json.Append("\\t"); break;
                case '\b': json.Append("\\b"); break;
                case '\f': json.Append("\\f"); break;
                default:
                    if (c < 0x20) json.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else json.Append(c);
                    break;
            }
        }
        json.Append('"');
    }

    private static void WriteData(Stream sink, List<PlannedTensor> planned, int chunkBytes)
    {
        long largest = planned.Count == 0 ? 0 : planned.Max(t => t.ByteLength);
        if (largest == 0) return;
        byte[] buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(largest, chunkBytes));
        try
        {
            foreach (var t in planned)
            {
                if (t.ByteLength == 0) continue;
                if (t.ByteLength <= chunkBytes)
                {
                    var span = buffer.AsSpan(0, (int)t.ByteLength);
                    CopyBytesTo(t.Tensor, span);
                    sink.Write(span);
                }
                else
                {
                    WriteInPieces(sink, t, buffer, chunkBytes);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Copies a large tensor to the host a piece at a time, so the host never holds it whole.</summary>
    private static void WriteInPieces(Stream sink, PlannedTensor t, byte[] buffer, int chunkBytes)
    {
        using var scope = NewDisposeScope();
        int elementSize = ElementSize(t.Dtype);
        long perPiece = chunkBytes / elementSize;
        long count = t.ByteLength / elementSize;
        var flat = t.Tensor.detach().reshape(-1);
        for (long start = 0; start < count; start += perPiece)
        {
            long n = Math.Min(perPiece, count - start);
            var span = buffer.AsSpan(0, (int)(n * elementSize));
            using (var piece = flat.narrow(0, start, n)) CopyBytesTo(piece, span);
            sink.Write(span);
        }
    }

    // ---- reading ------------------------------------------------------------------------------
}
