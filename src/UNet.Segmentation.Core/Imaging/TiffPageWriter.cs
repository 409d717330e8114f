using BitMiracle.LibTiff.Classic;
using LibTiff = BitMiracle.LibTiff.Classic.Tiff;

namespace UNet.Segmentation.Imaging;

/// <summary>
/// Writes greyscale pages of one size and sample format to a stream through LibTiff.NET, one page
/// at a time: one directory per page, BlackIsZero, strips of about 64 KiB of samples, no predictor,
/// little-endian; classic TIFF, or BigTIFF (64-bit offsets, LibTiff.NET's "w8") when
/// <c>bigTiff</c>. <see cref="TiffWriter"/> writes whole volumes with it, and the streaming
/// predictor writes its outputs page by page with it, so both produce the same bytes.
/// </summary>
internal sealed class TiffPageWriter : IDisposable
{
    private const int StripTargetBytes = 64 * 1024;

    private readonly Stream _stream;
    private readonly string _name;
    private readonly int _pageCount, _height, _width, _bytesPerSample, _rowsPerStrip, _strips;
    private readonly TiffSampleFormat _format;
    private readonly TiffCompression _compression;
    private readonly bool _bigTiff;
    private readonly long _start;
    private readonly WindowTiffStream _window;
    private readonly byte[] _buffer;
    private LibTiff? _tiff;
    private int _written;

    /// <summary>Starts a TIFF of <paramref name="pageCount"/> pages at the stream's position (readable, writable, seekable).</summary>
    public TiffPageWriter(Stream stream, string name, int pageCount, int height, int width, TiffSampleFormat format,
        TiffCompression compression, bool bigTiff = false)
    {
        _stream = stream;
        _name = name;
        (_pageCount, _height, _width, _format, _compression, _bigTiff) = (pageCount, height, width, format, compression, bigTiff);
        _bytesPerSample = format switch { TiffSampleFormat.UInt8 => 1, TiffSampleFormat.UInt16 => 2, _ => 4 };
        int rowBytes = width * _bytesPerSample;
        _rowsPerStrip = Math.Clamp(StripTargetBytes / rowBytes, 1, height);
        _strips = (height + _rowsPerStrip - 1) / _rowsPerStrip;
        _buffer = new byte[_rowsPerStrip * rowBytes];
        _start = stream.Position;
        _window = WindowTiffStream.ForWriting(stream);
        using var scope = LibTiffSupport.Enter();
        try
        {
            _tiff = LibTiff.ClientOpen(name, bigTiff ? "w8" : "w", stream, _window)
                ?? throw new InvalidOperationException($"LibTiff.NET could not start writing '{name}'");
        }
        catch (LibTiffException e)
        {
            throw new InvalidOperationException($"LibTiff.NET could not write '{name}': {e.Message}", e);
        }
    }

    /// <summary>Pages written so far.</summary>
    public int PagesWritten => _written;

    /// <summary>Bytes of the file so far.</summary>
    public long Length => _window.Length;

    /// <summary>Appends one page: height × width samples in machine byte order.</summary>
    public void WritePage(ReadOnlySpan<byte> page)
    {
        var tiff = _tiff ?? throw new InvalidOperationException($"'{_name}' is already finished");
        if (_written >= _pageCount) throw new InvalidOperationException($"'{_name}' already holds its {_pageCount} page(s)");
        int rowBytes = _width * _bytesPerSample;
        if (page.Length != _height * rowBytes)
            throw new ArgumentException($"a page of '{_name}' needs {_height * rowBytes} bytes, not {page.Length}", nameof(page));
        int p = _written;
        using var scope = LibTiffSupport.Enter();
        try
        {
            tiff.SetField(TiffTag.IMAGEWIDTH, _width);
            tiff.SetField(TiffTag.IMAGELENGTH, _height);
            tiff.SetField(TiffTag.BITSPERSAMPLE, _bytesPerSample * 8);
            tiff.SetField(TiffTag.SAMPLESPERPIXEL, 1);
            tiff.SetField(TiffTag.SAMPLEFORMAT, _format == TiffSampleFormat.Float32 ? SampleFormat.IEEEFP : SampleFormat.UINT);
            tiff.SetField(TiffTag.PHOTOMETRIC, Photometric.MINISBLACK);
            tiff.SetField(TiffTag.PLANARCONFIG, PlanarConfig.CONTIG);
            tiff.SetField(TiffTag.COMPRESSION, Code(_compression));
            tiff.SetField(TiffTag.ROWSPERSTRIP, _rowsPerStrip);
            if (_pageCount > 1)
            {
                tiff.SetField(TiffTag.SUBFILETYPE, FileType.PAGE); // one page of a multi-page image
                if (_pageCount <= ushort.MaxValue) tiff.SetField(TiffTag.PAGENUMBER, p, _pageCount);
            }
            for (int s = 0; s < _strips; s++)
            {
                int bytes = Math.Min(_rowsPerStrip, _height - s * _rowsPerStrip) * rowBytes;
                page.Slice(s * _rowsPerStrip * rowBytes, bytes).CopyTo(_buffer); // LibTiff.NET may encode in place
                if (tiff.WriteEncodedStrip(s, _buffer, bytes) < 0)
                    throw (Exception?)StreamError(p) ?? new InvalidOperationException($"LibTiff.NET could not write strip {s} of page {p + 1} of '{_name}'");
            }
            if (!tiff.WriteDirectory())
                throw (Exception?)StreamError(p) ?? new InvalidOperationException($"LibTiff.NET could not write the directory of page {p + 1} of '{_name}'");
        }
        catch (LibTiffException e)
        {
            throw (Exception?)StreamError(p) ?? new InvalidOperationException($"LibTiff.NET could not write page {p + 1} of '{_name}': {e.Message}", e);
        }
        _written++;
        if (!_bigTiff && _window.Length > uint.MaxValue)
            throw new InvalidOperationException($"'{_name}' grew past classic TIFF's 4 GiB; write fewer pages per file, or BigTIFF");
    }

    /// <summary>The stream's own failure behind LibTiff.NET's "write error" (a full disk), as an <see cref="IOException"/>, or null.</summary>
    private IOException? StreamError(int page) => _window.WriteError is { } e
        ? new IOException($"'{_name}', page {page + 1}: {e.Message}", e)
        : null;

    /// <summary>Closes the TIFF (flushing what LibTiff.NET holds) and leaves the stream at its end.</summary>
    public void Finish()
    {
        var tiff = _tiff ?? throw new InvalidOperationException($"'{_name}' is already finished");
        if (_written != _pageCount)
            throw new InvalidOperationException($"'{_name}' holds {_written} of its {_pageCount} page(s)");
        using (LibTiffSupport.Enter())
        {
            try
            {
                _tiff = null;
                tiff.Dispose();
            }
            catch (LibTiffException e)
            {
                throw (Exception?)StreamError(_written - 1) ?? new InvalidOperationException($"LibTiff.NET could not finish '{_name}': {e.Message}", e);
            }
        }
        _stream.Position = _start + _window.Length;
    }

    /// <summary>Closes an unfinished TIFF without reporting what closing it throws (an error already on its way out matters more).</summary>
    public void Dispose()
    {
        if (_tiff is not { } tiff) return;
        _tiff = null;
        using var scope = LibTiffSupport.Enter();
        try
        {
            tiff.Dispose();
        }
        catch (Exception)
        {
            // closing flushes what was pending; the error already on its way out matters more
        }
    }

    private static Compression Code(TiffCompression compression) => compression switch
    {
        TiffCompression.None => Compression.NONE,
        TiffCompression.PackBits => Compression.PACKBITS,
        TiffCompression.Lzw => Compression.LZW,
        TiffCompression.Deflate => Compression.ADOBE_DEFLATE,
        _ => throw new ArgumentOutOfRangeException(nameof(compression), compression, "unknown compression"),
    };
}
