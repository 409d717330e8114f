namespace UNet.Segmentation.Imaging;

/// <summary>
/// TIFF LZW encoding, the mirror of <see cref="LzwDecoder"/> and of libtiff's encoder: a Clear code
/// first, code width growing early, a Clear code whenever the table reaches 4094 entries.
/// </summary>
internal sealed class LzwEncoder
{
    private const int ClearCode = 256, EndCode = 257, FirstFree = 258, TableFull = 4094;
    private const int HashBits = 13, HashSize = 1 << HashBits;

    // Open-addressed table from (prefix code << 8 | byte) + 1 to the string's code; 0 marks an empty slot.
    private readonly int[] _keys = new int[HashSize];
    private readonly short[] _codes = new short[HashSize];
    private uint _bits;
    private int _bitCount;

    /// <summary>Appends the LZW coding of <paramref name="input"/> (one strip) to <paramref name="output"/>.</summary>
    public void Encode(ReadOnlySpan<byte> input, GrowableBuffer output)
    {
        Array.Clear(_keys);
        _bits = 0;
        _bitCount = 0;
        int width = 9, next = FirstFree;
        Put(ClearCode, width, output);
        if (input.IsEmpty)
        {
            Put(EndCode, width, output);
            Flush(output);
            return;
        }
        int current = input[0];
        for (int i = 1; i < input.Length; i++)
        {
            int key = ((current << 8) | input[i]) + 1;
            int slot = Slot(key);
            if (_keys[slot] == key)
            {
                current = _codes[slot];
                continue;
            }
            Put(current, width, output);
            _keys[slot] = key;
            _codes[slot] = (short)next;
            current = input[i];
            Advance(ref next, ref width, output);
        }
        Put(current, width, output);
        Advance(ref next, ref width, output); // the decoder adds an entry for the last code too
        Put(EndCode, width, output);
        Flush(output);
    }

    private void Advance(ref int next, ref int width, GrowableBuffer output)
    {
        next++;
        if (next == TableFull)
        {
            Put(ClearCode, width, output);
            Array.Clear(_keys);
            next = FirstFree;
            width = 9;
        }
        else if (next > (1 << width) - 1)
        {
            width++;
        }
    }

    /// <summary>The slot holding <paramref name="key"/>, or the empty slot where it belongs (linear probing).</summary>
    private int Slot(int key)
    {
        int slot = (int)((uint)key * 2654435761u >> (32 - HashBits));
        while (_keys[slot] != 0 && _keys[slot] != key) slot = (slot + 1) & (HashSize - 1);
        return slot;
    }

    private void Put(int code, int width, GrowableBuffer output)
    {
        _bits = (_bits << width) | (uint)code;
        _bitCount += width;
        while (_bitCount >= 8)
        {
            _bitCount -= 8;
            output.Add((byte)(_bits >> _bitCount));
        }
    }

    private void Flush(GrowableBuffer output)
    {
        if (_bitCount > 0) output.Add((byte)(_bits << (8 - _bitCount)));
        _bitCount = 0;
    }
}
