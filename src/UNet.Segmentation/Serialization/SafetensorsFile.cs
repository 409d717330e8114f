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

/// <summary>One tensor's entry in a safetensors header: where its bytes lie in the data section.</summary>
/// <param name="Name">The tensor's name (a state-dict key).</param>
/// <param name="Dtype">The element type.</param>
/// <param name="Shape">The sizes; empty for a 0-dimensional tensor.</param>
/// <param name="Begin">Offset of the first byte, relative to the start of the data section.</param>
/// <param name="End">Offset one past the last byte, relative to the start of the data section.</param>
public sealed record SafetensorsEntry(string Name, ScalarType Dtype, long[] Shape, long Begin, long End)
{
    /// <summary>Bytes of data (<see cref="End"/> − <see cref="Begin"/>).</summary>
    public long ByteLength => End - Begin;
}

/// <summary>
/// The tensors and metadata of a safetensors file read by <see cref="Safetensors.Load(string, Device?)"/>. Owns
/// the tensors: disposing it disposes every tensor not taken out with <see cref="Take"/>.
/// </summary>
public sealed class SafetensorsFile : IDisposable
{
    private readonly OrderedDictionary<string, Tensor> _tensors;
    private bool _disposed;

    internal SafetensorsFile(string filePath, OrderedDictionary<string, string> metadata, OrderedDictionary<string, Tensor> tensors)
    {
        FilePath = filePath;
        _tensors = tensors;
        Tensors = new ReadOnlyDictionary<string, Tensor>(tensors);
        Metadata = new ReadOnlyDictionary<string, string>(metadata);
    }

    /// <summary>The file the tensors were read from.</summary>
    public string FilePath { get; }

    /// <summary>The tensors still owned by this object, in the order of their data in the file. Empty once disposed.</summary>
    public IReadOnlyDictionary<string, Tensor> Tensors { get; }

    /// <summary>The file's <c>__metadata__</c> (empty when it has none), in file order.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Removes a tensor from this object's ownership and returns it: the caller disposes it.</summary>
    /// <param name="name">The tensor's name.</param>
    /// <exception cref="KeyNotFoundException">No tensor of that name is (still) held.</exception>
    /// <exception cref="ObjectDisposedException">This object is disposed.</exception>
    public Tensor Take(string name)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(name);
        if (!_tensors.Remove(name, out var tensor))
            throw new KeyNotFoundException($"'{FilePath}' holds no tensor '{name}' (or it was already taken)");
        return tensor;
    }

    /// <summary>Disposes every tensor still held.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var tensor in _tensors.Values) tensor.Dispose();
        _tensors.Clear();
    }
}
