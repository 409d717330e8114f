namespace UNet.Segmentation.Imaging;

/// <summary>
/// A stack of greyscale pages of one size and one sample format, as a multi-page TIFF holds it.
/// The samples live in one array, page-major then row-major: sample (page, y, x) is at
/// <c>(page * Height + y) * Width + x</c>.
/// </summary>
/// <remarks>The constructors keep the array they are given (no copy); so do the getters.</remarks>
public sealed class TiffVolume
{
    private readonly byte[]? _uint8;
    private readonly ushort[]? _uint16;
    private readonly float[]? _float32;

    /// <summary>Creates an 8-bit volume over <paramref name="data"/> (kept, not copied).</summary>
    /// <param name="pageCount">Number of pages (at least 1).</param>
    /// <param name="height">Rows per page (at least 1).</param>
    /// <param name="width">Columns per page (at least 1).</param>
    /// <param name="data">pageCount × height × width samples.</param>
    public TiffVolume(int pageCount, int height, int width, byte[] data)
        : this(pageCount, height, width, data?.Length, nameof(data), TiffSampleFormat.UInt8) => _uint8 = data;

    /// <summary>Creates a 16-bit volume over <paramref name="data"/> (kept, not copied).</summary>
    /// <param name="pageCount">Number of pages (at least 1).</param>
    /// <param name="height">Rows per page (at least 1).</param>
    /// <param name="width">Columns per page (at least 1).</param>
    /// <param name="data">pageCount × height × width samples.</param>
    public TiffVolume(int pageCount, int height, int width, ushort[] data)
        : this(pageCount, height, width, data?.Length, nameof(data), TiffSampleFormat.UInt16) => _uint16 = data;

    /// <summary>Creates a 32-bit float volume over <paramref name="data"/> (kept, not copied).</summary>
    /// <param name="pageCount">Number of pages (at least 1).</param>
    /// <param name="height">Rows per page (at least 1).</param>
    /// <param name="width">Columns per page (at least 1).</param>
    /// <param name="data">pageCount × height × width samples.</param>
    public TiffVolume(int pageCount, int height, int width, float[] data)
        : this(pageCount, height, width, data?.Length, nameof(data), TiffSampleFormat.Float32) => _float32 = data;

    private TiffVolume(int pageCount, int height, int width, int? length, string dataName, TiffSampleFormat format)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pageCount, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        if (length is null) throw new ArgumentNullException(dataName);
        long expected = (long)pageCount * height * width;
        if (length.Value != expected)
            throw new ArgumentException(
                $"the data holds {length.Value} samples but {pageCount} page(s) of {height}x{width} need {expected}", dataName);
        PageCount = pageCount;
        Height = height;
        Width = width;
        SampleFormat = format;
    }

    /// <summary>Number of pages.</summary>
    public int PageCount { get; }

    /// <summary>Rows per page.</summary>
    public int Height { get; }

    /// <summary>Columns per page.</summary>
    public int Width { get; }

    /// <summary>The sample type of every page.</summary>
    public TiffSampleFormat SampleFormat { get; }

    /// <summary>Samples per page (Height × Width).</summary>
    public int PixelsPerPage => Height * Width;

    /// <summary>Bytes per sample: 1, 2 or 4.</summary>
    public int BytesPerSample => SampleFormat switch
    {
        TiffSampleFormat.UInt8 => 1,
        TiffSampleFormat.UInt16 => 2,
        _ => 4,
    };

    /// <summary>The 8-bit samples (the array itself).</summary>
    /// <exception cref="InvalidOperationException">The volume is not <see cref="TiffSampleFormat.UInt8"/>.</exception>
    public byte[] GetUInt8() => _uint8 ?? throw WrongFormat(TiffSampleFormat.UInt8);

    /// <summary>The 16-bit samples (the array itself).</summary>
    /// <exception cref="InvalidOperationException">The volume is not <see cref="TiffSampleFormat.UInt16"/>.</exception>
    public ushort[] GetUInt16() => _uint16 ?? throw WrongFormat(TiffSampleFormat.UInt16);

    /// <summary>The float samples (the array itself).</summary>
    /// <exception cref="InvalidOperationException">The volume is not <see cref="TiffSampleFormat.Float32"/>.</exception>
    public float[] GetFloat32() => _float32 ?? throw WrongFormat(TiffSampleFormat.Float32);

    /// <summary>A new float array with every sample's value, unscaled (an 8-bit 255 becomes 255f).</summary>
    public float[] ToFloat32()
    {
        if (_float32 is not null) return (float[])_float32.Clone();
        var result = new float[(long)PageCount * PixelsPerPage];
        if (_uint8 is not null)
        {
            ReadOnlySpan<byte> source = _uint8;
            for (int i = 0; i < source.Length; i++) result[i] = source[i];
        }
        else
        {
            ReadOnlySpan<ushort> source = _uint16;
            for (int i = 0; i < source.Length; i++) result[i] = source[i];
        }
        return result;
    }

    /// <summary>The samples of one page of an 8-bit volume.</summary>
    /// <param name="page">Zero-based page index.</param>
    public ReadOnlySpan<byte> PageUInt8(int page) => GetUInt8().AsSpan(PageStart(page), PixelsPerPage);

    /// <summary>The samples of one page of a 16-bit volume.</summary>
    /// <param name="page">Zero-based page index.</param>
    public ReadOnlySpan<ushort> PageUInt16(int page) => GetUInt16().AsSpan(PageStart(page), PixelsPerPage);

    /// <summary>The samples of one page of a float volume.</summary>
    /// <param name="page">Zero-based page index.</param>
    public ReadOnlySpan<float> PageFloat32(int page) => GetFloat32().AsSpan(PageStart(page), PixelsPerPage);

    /// <summary>The raw bytes of one page in machine byte order, whatever the sample format.</summary>
    internal ReadOnlySpan<byte> PageBytes(int page) => SampleFormat switch
    {
        TiffSampleFormat.UInt8 => PageUInt8(page),
        TiffSampleFormat.UInt16 => System.Runtime.InteropServices.MemoryMarshal.AsBytes(PageUInt16(page)),
        _ => System.Runtime.InteropServices.MemoryMarshal.AsBytes(PageFloat32(page)),
    };

    private int PageStart(int page)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(page);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(page, PageCount);
        return page * PixelsPerPage;
    }

    private InvalidOperationException WrongFormat(TiffSampleFormat wanted) =>
        new($"the volume holds {SampleFormat} samples, not {wanted}; use Get{SampleFormat}() or ToFloat32()");
}
