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
    /// Reads every tensor of a safetensors file onto <paramref name="device"/> (the CPU by default).
    /// The returned <see cref="SafetensorsFile"/> owns the tensors: they belong to no
    /// dispose scope and are disposed with it, unless taken out with
    /// <see cref="SafetensorsFile.Take"/>.
    /// </summary>
    /// <param name="path">The file to read.</param>
    /// <param name="device">Where the tensors go; null for the CPU.</param>
    /// <exception cref="SafetensorsFormatException">The file is not valid safetensors, or holds a dtype this library does not support.</exception>
    /// <exception cref="IOException">The file could not be read.</exception>
    public static SafetensorsFile Load(string path, Device? device = null) => Load(path, device, DefaultChunkBytes);

    /// <summary>
    /// Reads every tensor of safetensors data in <paramref name="stream"/> (from its position to its
    /// end) onto <paramref name="device"/>, as <see cref="Load(string, Device?)"/> reads a file;
    /// errors name <paramref name="name"/> where they would name the file. A stream that cannot seek
    /// is first copied into memory.
    /// </summary>
    /// <param name="stream">The safetensors bytes; read, not disposed.</param>
    /// <param name="name">What to call the data in errors, e.g. "the checkpoint stream".</param>
    /// <param name="device">Where the tensors go; null for the CPU.</param>
    /// <exception cref="SafetensorsFormatException">The data is not valid safetensors, or holds a dtype this library does not support.</exception>
    /// <exception cref="IOException">The stream could not be read.</exception>
    public static SafetensorsFile Load(Stream stream, string name, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (!stream.CanRead) throw new ArgumentException($"{name} cannot be read", nameof(stream));
        if (stream.CanSeek) return Load(stream, stream.Length - stream.Position, name, device, DefaultChunkBytes);
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        copy.Position = 0;
        return Load(copy, copy.Length, name, device, DefaultChunkBytes);
    }

    /// <summary>Load with a chosen piece size (tests use small ones to exercise the piecewise path).</summary>
    internal static SafetensorsFile Load(string path, Device? device, int chunkBytes)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        using var file = OpenRead(path);
        return Load(file, file.Length, path, device, chunkBytes);
    }

    /// <summary>The reader proper: <paramref name="length"/> bytes of <paramref name="file"/> from its position, called <paramref name="path"/> in errors.</summary>
    private static SafetensorsFile Load(Stream file, long length, string path, Device? device, int chunkBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkBytes, 8);
        var header = ReadHeaderCore(file, length, path);
        var tensors = new OrderedDictionary<string, Tensor>(header.Entries.Count, StringComparer.Ordinal);
        long largest = header.Entries.Count == 0 ? 0 : header.Entries.Max(e => e.ByteLength);
        byte[] buffer = largest == 0 ? [] : ArrayPool<byte>.Shared.Rent((int)Math.Min(largest, chunkBytes));
        try
        {
            foreach (var entry in header.Entries)
            {
                var tensor = entry.ByteLength <= chunkBytes
                    ? ReadWhole(file, entry, buffer, device, path)
                    : ReadInPieces(file, entry, buffer, chunkBytes, device, path);
                tensors.Add(entry.Name, tensor);
            }
        }
        catch
        {
            foreach (var tensor in tensors.Values) tensor.Dispose();
            throw;
        }
        finally
        {
            if (buffer.Length > 0) ArrayPool<byte>.Shared.Return(buffer);
        }
        return new SafetensorsFile(path, header.Metadata, tensors);
    }

    /// <summary>
    /// Reads and validates the header only: the metadata and every tensor's entry, in the order
    /// of their data offsets. Tensor data is not read.
    /// </summary>
    /// <param name="path">The file to read.</param>
    /// <exception cref="SafetensorsFormatException">The file is not valid safetensors, or holds a dtype this library does not support.</exception>
    /// <exception cref="IOException">The file could not be read.</exception>
    public static (IReadOnlyDictionary<string, string> Metadata, IReadOnlyList<SafetensorsEntry> Entries) ReadHeader(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        using var file = OpenRead(path);
        var header = ReadHeaderCore(file, file.Length, path);
        return (new ReadOnlyDictionary<string, string>(header.Metadata), header.Entries.AsReadOnly());
    }

    private static FileStream OpenRead(string path) => new(path, new FileStreamOptions
    {
        Mode = FileMode.Open,
        Access = FileAccess.Read,
        Share = FileShare.Read,
        BufferSize = 0,
        Options = FileOptions.SequentialScan,
    });

    private static Tensor ReadWhole(Stream file, SafetensorsEntry entry, byte[] buffer, Device? device, string path)
    {
        var span = buffer.AsSpan(0, (int)entry.ByteLength);
        file.ReadExactly(span);
        if (entry.Dtype == ScalarType.Bool) CheckBooleans(span, 0, entry, path);
        return FromBytes(span, entry.Shape, entry.Dtype, device).DetachFromDisposeScope();
    }

    /// <summary>Reads a large tensor a piece at a time into a tensor allocated once on the device.</summary>
    private static Tensor ReadInPieces(Stream file, SafetensorsEntry entry, byte[] buffer, int chunkBytes, Device? device, string path)
    {
        using var scope = NewDisposeScope();
        int elementSize = ElementSize(entry.Dtype);
        long perPiece = chunkBytes / elementSize;
        long count = entry.ByteLength / elementSize;
        var result = empty(entry.Shape, entry.Dtype, device);
        var flat = result.view(-1);
        for (long start = 0; start < count; start += perPiece)
        {
            long n = Math.Min(perPiece, count - start);
            var span = buffer.AsSpan(0, (int)(n * elementSize));
            file.ReadExactly(span);
            if (entry.Dtype == ScalarType.Bool) CheckBooleans(span, start, entry, path);
            using var piece = FromBytes(span, [n], entry.Dtype, device);
            using var target = flat.narrow(0, start, n);
            target.copy_(piece);
        }
        return result.DetachFromDisposeScope();
    }

    private static void CheckBooleans(ReadOnlySpan<byte> bytes, long firstElement, SafetensorsEntry entry, string path)
    {
        int bad = bytes.IndexOfAnyExcept((byte)0, (byte)1);
        if (bad >= 0)
            throw new SafetensorsFormatException(path,
                $"tensor '{entry.Name}' holds the byte 0x{bytes[bad]:x2} at element {firstElement + bad}, which is not a BOOL value (0 or 1)", entry.Name);
    }

    private sealed record ParsedHeader(OrderedDictionary<string, string> Metadata, List<SafetensorsEntry> Entries);

    private static ParsedHeader ReadHeaderCore(Stream file, long fileLength, string path)
    {
        if (fileLength < 8)
            throw new SafetensorsFormatException(path, $"the file holds {fileLength} bytes, fewer than the 8 of the header length");
        Span<byte> lengthBytes = stackalloc byte[8];
        file.ReadExactly(lengthBytes);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (headerLength > MaxHeaderLength)
            throw new SafetensorsFormatException(path, $"the header length {headerLength} exceeds the limit of {MaxHeaderLength} bytes");
        if ((long)headerLength > fileLength - 8)
            throw new SafetensorsFormatException(path,
                $"the header length {headerLength} runs past the end of the file ({fileLength - 8} bytes follow it): the file is truncated or the length is corrupt");
        // Bounded by the checks above: never more than the file holds, nor more than 100 MB.
        var header = new byte[headerLength];
        file.ReadExactly(header);
        return ParseHeader(header, fileLength - 8 - (long)headerLength, path);
    }

    private static ParsedHeader ParseHeader(byte[] header, long dataLength, string path)
    {
        if (!Utf8.IsValid(header)) throw new SafetensorsFormatException(path, "the header is not valid UTF-8");
        if (header.Length == 0 || header[0] != (byte)'{') throw new SafetensorsFormatException(path, "the header does not start with '{'");
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(header);
        }
        catch (JsonException e)
        {
            throw new SafetensorsFormatException(path, $"the header is not valid JSON ({e.Message})", innerException: e);
        }

        var metadata = new OrderedDictionary<string, string>(StringComparer.Ordinal);
        var entries = new List<SafetensorsEntry>();
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new SafetensorsFormatException(path, "the header is not a JSON object");
            try
            {
                var keys = new HashSet<string>(StringComparer.Ordinal);
                foreach (var property in root.EnumerateObject())
                {
                    string name = property.Name;
                    if (!keys.Add(name))
                        throw new SafetensorsFormatException(path, $"the key '{name}' appears twice in the header", name == MetadataKey ? null : name);
                    if (name == MetadataKey) ParseMetadata(property.Value, metadata, path);
                    else entries.Add(ParseEntry(name, property.Value, path));
                }
            }
            catch (InvalidOperationException e)
            {
                // JsonElement.GetString and JsonProperty.Name refuse escapes that decode to lone surrogates.
                throw new SafetensorsFormatException(path, $"the header holds a string that is not valid Unicode ({e.Message})", innerException: e);
            }
        }

        entries.Sort((a, b) =>
        {
            int c = a.Begin.CompareTo(b.Begin);
            if (c == 0) c = a.End.CompareTo(b.End);
            // Ties (empty tensors) in code-point order, the writers' order.
            return c != 0 ? c : Encoding.UTF8.GetBytes(a.Name).AsSpan().SequenceCompareTo(Encoding.UTF8.GetBytes(b.Name));
        });
        long position = 0;
        foreach (var entry in entries)
        {
            if (entry.Begin != position)
                throw new SafetensorsFormatException(path,
                    $"invalid offset: tensor '{entry.Name}' begins at {entry.Begin} but the data before it ends at {position} (tensor data must be contiguous from offset 0)", entry.Name);
            long needed;
            try
            {
                needed = checked(ElementCount(entry.Shape) * entry.Dtype.ElementSize());
            }
            catch (OverflowException)
            {
                throw new SafetensorsFormatException(path, $"the byte size of tensor '{entry.Name}' (shape [{string.Join(", ", entry.Shape)}]) overflows", entry.Name);
            }
            if (entry.ByteLength != needed)
                throw new SafetensorsFormatException(path,
                    $"tensor '{entry.Name}' spans {entry.ByteLength} bytes but dtype {DtypeCode(entry.Dtype)} and shape [{string.Join(", ", entry.Shape)}] need {needed}", entry.Name);
            position = entry.End;
        }
        if (position != dataLength)
            throw new SafetensorsFormatException(path,
                $"incomplete buffer: the tensors cover {position} bytes but the data section holds {dataLength}" +
                (position < dataLength ? " (bytes trail the last tensor)" : " (the file is truncated)"));
        return new ParsedHeader(metadata, entries);
    }

    private static void ParseMetadata(JsonElement value, OrderedDictionary<string, string> metadata, string path)
    {
        if (value.ValueKind == JsonValueKind.Null) return; // the reference reader accepts null as "no metadata"
        if (value.ValueKind != JsonValueKind.Object) throw new SafetensorsFormatException(path, $"{MetadataKey} is not an object");
        foreach (var item in value.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String)
                throw new SafetensorsFormatException(path, $"the {MetadataKey} value of '{item.Name}' is not a string");
            if (!metadata.TryAdd(item.Name, item.Value.GetString()!))
                throw new SafetensorsFormatException(path, $"the key '{item.Name}' appears twice in {MetadataKey}");
        }
    }

    private static SafetensorsEntry ParseEntry(string name, JsonElement value, string path)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw new SafetensorsFormatException(path, $"the entry of tensor '{name}' is not an object", name);
        string? code = null;
        long[]? shape = null;
        long begin = -1, end = -1;
        var fields = new HashSet<string>(StringComparer.Ordinal);
        foreach (var field in value.EnumerateObject())
        {
            if (!fields.Add(field.Name))
                throw new SafetensorsFormatException(path, $"the key '{field.Name}' appears twice in the entry of tensor '{name}'", name);
            var v = field.Value;
            switch (field.Name)
            {
                case "dtype":
                    if (v.ValueKind != JsonValueKind.String)
                        throw new SafetensorsFormatException(path, $"the dtype of tensor '{name}' is not a string", name);
                    code = v.GetString()!;
                    break;
                case "shape":
                    if (v.ValueKind != JsonValueKind.Array)
                        throw new SafetensorsFormatException(path, $"the shape of tensor '{name}' is not an array", name);
                    shape = new long[v.GetArrayLength()];
                    int i = 0;
                    foreach (var size in v.EnumerateArray())
                    {
                        if (size.ValueKind != JsonValueKind.Number || !size.TryGetInt64(out long s) || s < 0)
                            throw new SafetensorsFormatException(path, $"the shape of tensor '{name}' holds {size.GetRawText()}, not a non-negative integer", name);
                        shape[i++] = s;
                    }
                    break;
                case "data_offsets":
                    if (v.ValueKind != JsonValueKind.Array || v.GetArrayLength() != 2)
                        throw new SafetensorsFormatException(path, $"the data_offsets of tensor '{name}' are not an array of two integers", name);
                    begin = Offset(v[0]);
                    end = Offset(v[1]);
                    break;
                default:
                    break; // unknown fields are ignored, as the reference reader ignores them
            }
        }
        if (code is null) throw new SafetensorsFormatException(path, $"tensor '{name}' has no 'dtype'", name);
        if (shape is null) throw new SafetensorsFormatException(path, $"tensor '{name}' has no 'shape'", name);
        if (begin < 0) throw new SafetensorsFormatException(path, $"tensor '{name}' has no 'data_offsets'", name);
        if (!TryParseDtype(code, out var dtype))
        {
            throw Array.IndexOf(UnsupportedCodes, code) >= 0
                ? new SafetensorsFormatException(path, $"tensor '{name}' has dtype {code}, which is not supported by this library", name)
                : new SafetensorsFormatException(path, $"tensor '{name}' has the unknown dtype '{code}'", name);
        }
        if (end < begin)
            throw new SafetensorsFormatException(path, $"invalid offset: the data_offsets of tensor '{name}' end ({end}) before they begin ({begin})", name);
        return new SafetensorsEntry(name, dtype, shape, begin, end);

        long Offset(JsonElement o) =>
            o.ValueKind == JsonValueKind.Number && o.TryGetInt64(out long x) && x >= 0
                ? x
                : throw new SafetensorsFormatException(path, $"the data_offsets of tensor '{name}' hold {o.GetRawText()}, not a non-negative integer", name);
    }

    private static long ElementCount(long[] shape)
    {
        long n = 1;
        foreach (long s in shape) n = checked(n * s);
        return n;
    }
}
