namespace UNet.Segmentation.Imaging;

/// <summary>A byte buffer that grows as encoders append to it; reused across strips to avoid allocations.</summary>
internal sealed class GrowableBuffer(int capacity = 1 << 16)
{
    private byte[] _buffer = new byte[Math.Max(16, capacity)];

    public int Length { get; private set; }

    public ReadOnlySpan<byte> Written => _buffer.AsSpan(0, Length);

    public void Clear() => Length = 0;

    /// <summary>Returns the next <paramref name="count"/> bytes, counted as written.</summary>
    public Span<byte> Reserve(int count)
    {
        if (count > _buffer.Length - Length)
        {
            long wanted = Math.Max((long)_buffer.Length * 2, (long)Length + count);
            Array.Resize(ref _buffer, (int)Math.Min(wanted, Array.MaxLength));
            if (count > _buffer.Length - Length) throw new InvalidOperationException("the encoded data exceeds 2 GiB");
        }
        var span = _buffer.AsSpan(Length, count);
        Length += count;
        return span;
    }

    public void Add(byte value)
    {
        if (Length == _buffer.Length) Reserve(1)[0] = value;
        else _buffer[Length++] = value;
    }
}
