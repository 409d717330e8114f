using System.Buffers.Binary;

namespace UNet.Segmentation.Imaging;

/// <summary>
/// The bytes of one TIFF file, its byte order and its name; every read is bounds-checked and
/// failures become <see cref="TiffFormatException"/>s naming the file.
/// </summary>
internal sealed class TiffSource
{
    public TiffSource(string name, byte[] data)
    {
        Name = name;
        Data = data;
    }

    public string Name { get; }

    public byte[] Data { get; }

    public long Length => Data.Length;

    public bool LittleEndian { get; private set; } = true;

    public TiffFormatException Fail(string problem, Exception? inner = null) => new(Name, problem, inner);

    /// <summary>Checks the 8-byte header and returns the offset of the first IFD.</summary>
    public long ReadHeader()
    {
        if (Length < 4) throw Fail($"the file is too short to be a TIFF ({Length} bytes)");
        if (Data[0] == (byte)'I' && Data[1] == (byte)'I') LittleEndian = true;
        else if (Data[0] == (byte)'M' && Data[1] == (byte)'M') LittleEndian = false;
        else throw Fail($"not a TIFF file: it starts with 0x{Data[0]:X2} 0x{Data[1]:X2}, not the byte-order mark 'II' or 'MM'");
        ushort magic = U16(2);
        if (magic == 43) throw Fail("BigTIFF is not supported (only classic TIFF, magic number 42)");
        if (magic != 42) throw Fail($"not a TIFF file: magic number {magic}, expected 42");
        if (Length < 8) throw Fail($"the file is truncated inside its 8-byte header ({Length} bytes)");
        long first = U32(4);
        if (first == 0) throw Fail("the file has no image: the first IFD offset is 0");
        return first;
    }

    /// <summary>Fails unless [offset, offset + count) lies inside the file.</summary>
    public void Require(long offset, long count, string what)
    {
        if (offset < 0 || count < 0 || offset > Length || count > Length - offset)
            throw Fail($"{what} at offset {offset} ({count} bytes) runs past the end of the file ({Length} bytes); the file is truncated or damaged");
    }

    public ushort U16(long offset)
    {
        Require(offset, 2, "a 16-bit field");
        var span = Data.AsSpan((int)offset, 2);
        return LittleEndian ? BinaryPrimitives.ReadUInt16LittleEndian(span) : BinaryPrimitives.ReadUInt16BigEndian(span);
    }

    public uint U32(long offset)
    {
        Require(offset, 4, "a 32-bit field");
        var span = Data.AsSpan((int)offset, 4);
        return LittleEndian ? BinaryPrimitives.ReadUInt32LittleEndian(span) : BinaryPrimitives.ReadUInt32BigEndian(span);
    }

    /// <summary>Reads one integer of a field type at <paramref name="offset"/>.</summary>
    public long Integer(ushort type, long offset) => (TiffFieldType.IntegerSize(type), TiffFieldType.IsSigned(type)) switch
    {
        (1, false) => Data[Checked(offset, 1)],
        (1, true) => (sbyte)Data[Checked(offset, 1)],
        (2, false) => U16(offset),
        (2, true) => (short)U16(offset),
        (4, false) => U32(offset),
        (4, true) => (int)U32(offset),
        _ => throw new InvalidOperationException($"field type {type} is not an integer type"),
    };

    private int Checked(long offset, int count)
    {
        Require(offset, count, "a field");
        return (int)offset;
    }
}
