using BitMiracle.LibTiff.Classic;
using LibTiff = BitMiracle.LibTiff.Classic.Tiff;

namespace UNet.Segmentation.Imaging;

/// <summary>
/// Reads the 8-bit greyscale pages of a multi-page TIFF or BigTIFF one at a time, straight from the
/// file (LibTiff.NET seeks to each strip or tile; nothing but the page asked for is held), for
/// volumes larger than memory. Pages may be strips or tiles, uncompressed, PackBits, LZW or
/// Deflate, with or without a predictor, BlackIsZero or WhiteIsZero (inverted, as
/// <see cref="Tiff.Read(string)"/> does). Every failure is a <see cref="TiffFormatException"/>
/// naming the file and the page.
/// </summary>
internal sealed class TiffPageReader : IDisposable
{
    private readonly string _path;
    private readonly FileStream _file;
    private readonly LibTiff _tiff;
    private int _current;

    private TiffPageReader(string path, FileStream file, LibTiff tiff, int pageCount)
    {
        (_path, _file, _tiff, PageCount) = (path, file, tiff, pageCount);
    }

    /// <summary>Pages in the file (its directories).</summary>
    public int PageCount { get; }

    /// <summary>Opens <paramref name="path"/> and counts its pages (reading only their directories).</summary>
    /// <param name="path">The file.</param>
    /// <param name="upToDamage">Count the pages before the first directory that cannot be read instead of failing
    /// (for reading back a file whose writing was interrupted).</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="TiffFormatException">It is not a TIFF or its directory chain is damaged.</exception>
    public static TiffPageReader Open(string path, bool upToDamage = false)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"the TIFF file '{path}' does not exist", path);
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        LibTiff? tiff = null;
        using var scope = LibTiffSupport.Enter();
        try
        {
            var header = new byte[8];
            int got = file.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
            if (got < 8 || ImageFiles.Detect(header) != ImageFileFormat.Tiff)
                throw new TiffFormatException(path, got < 8 ? $"the file is too short to be a TIFF ({got} bytes)" : "not a TIFF file: it does not start with 'II*' or 'MM*'");
            file.Position = 0;
            tiff = LibTiff.ClientOpen(path, "r", file, new TiffStream())
                ?? throw new TiffFormatException(path, 1, "LibTiff.NET could not read the first page's directory", null);
            int pages = CountPages(path, tiff, upToDamage);
            if (!tiff.SetDirectory(0)) throw new TiffFormatException(path, 1, "LibTiff.NET could not return to the first page", null);
            return new TiffPageReader(path, file, tiff, pages);
        }
        catch (Exception e) when (e is not TiffFormatException and not OutOfMemoryException)
        {
            Close(tiff, file);
            throw new TiffFormatException(path, null, $"LibTiff.NET could not read the file ({e.Message})", e);
        }
        catch
        {
            Close(tiff, file);
            throw;
        }
    }

    /// <summary>Walks the directory chain, naming the first page whose directory cannot be read (a truncated file).</summary>
    private static int CountPages(string path, LibTiff tiff, bool upToDamage)
    {
        int pages = 1;
        while (!tiff.LastDirectory())
        {
            if (pages >= TiffReader.MaxPages) throw new TiffFormatException(path, null, $"the file has more than {TiffReader.MaxPages} pages, LibTiff.NET's limit", null);
            bool read;
            try
            {
                read = tiff.ReadDirectory();
            }
            catch (LibTiffException) when (upToDamage)
            {
                return pages;
            }
            catch (LibTiffException e)
            {
                throw new TiffFormatException(path, pages + 1,
                    $"the page's directory cannot be read ({e.Message.Replace(path + ": ", "", StringComparison.Ordinal)}); the file is truncated or damaged", e);
            }
            if (!read && upToDamage) return pages;
            if (!read) throw new TiffFormatException(path, pages + 1, "the page's directory cannot be read; the file is truncated, damaged, or its directories loop", null);
            pages++;
        }
        return pages;
    }

    /// <summary>The size and depth page <paramref name="index"/> (zero-based) declares, checked to be 8-bit single-channel greyscale.</summary>
    public (int Height, int Width) Describe(int index)
    {
        using var scope = LibTiffSupport.Enter();
        return Guard(index, () =>
        {
            MoveTo(index);
            var (h, w, _) = Check(index);
            return (h, w);
        });
    }

    /// <summary>Decodes page <paramref name="index"/> (zero-based): height × width samples, row-major.</summary>
    public byte[] ReadPage(int index, out int height, out int width)
    {
        using var scope = LibTiffSupport.Enter();
        var (page, h, w) = Guard(index, () =>
        {
            MoveTo(index);
            var (hh, ww, whiteIsZero) = Check(index);
            var pixels = new byte[(long)hh * ww];
            if (_tiff.IsTiled()) ReadTiles(index, pixels, hh, ww, 1);
            else ReadStrips(index, pixels, hh, ww, 1);
            if (whiteIsZero)
                for (int i = 0; i < pixels.Length; i++) pixels[i] = (byte)(255 - pixels[i]);
            return (pixels, hh, ww);
        });
        (height, width) = (h, w);
        return page;
    }

    /// <summary>
    /// Decodes page <paramref name="index"/> as stored, checking that it is single-channel of
    /// <paramref name="bits"/> bits in the given sample format (1 unsigned, 3 float): height × width
    /// × bits/8 bytes in machine byte order, no inversion. For reading back what this library wrote.
    /// </summary>
    public byte[] ReadRaw(int index, int bits, int sampleFormat, out int height, out int width)
    {
        using var scope = LibTiffSupport.Enter();
        var (page, h, w) = Guard(index, () =>
        {
            MoveTo(index);
            var (hh, ww, _) = Check(index, bits, sampleFormat);
            var bytes = new byte[(long)hh * ww * (bits / 8)];
            if (_tiff.IsTiled()) ReadTiles(index, bytes, hh, ww, bits / 8);
            else ReadStrips(index, bytes, hh, ww, bits / 8);
            return (bytes, hh, ww);
        });
        (height, width) = (h, w);
        return page;
    }

    private T Guard<T>(int index, Func<T> read)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, PageCount);
        try
        {
            return read();
        }
        catch (TiffFormatException)
        {
            throw;
        }
        catch (LibTiffException e)
        {
            throw Fail(index, e.Message.Replace(_path + ": ", "", StringComparison.Ordinal), e);
        }
        catch (IOException e)
        {
            throw Fail(index, $"the file could not be read ({e.Message})", e);
        }
        catch (Exception e) when (e is not OutOfMemoryException and not ArgumentException)
        {
            // LibTiff.NET is not hardened against damaged input: what it throws here is a property of the bytes
            throw Fail(index, $"LibTiff.NET failed on damaged data ({e.GetType().Name}: {e.Message})", e);
        }
    }

    private TiffFormatException Fail(int index, string problem, Exception? inner = null) => new(_path, index + 1, problem, inner);

    private void MoveTo(int index)
    {
        if (index == _current) return;
        bool moved = index == _current + 1 ? _tiff.ReadDirectory() : _tiff.SetDirectory((short)index);
        if (!moved) throw Fail(index, "LibTiff.NET could not read the page's directory");
        _current = index;
    }

    private (int Height, int Width, bool WhiteIsZero) Check(int index, int wantedBits = 8, int wantedFormat = 1)
    {
        int Int(TiffTag tag, int fallback) => _tiff.GetField(tag) is { Length: > 0 } v ? v[0].ToInt() : fallback;
        int width = Int(TiffTag.IMAGEWIDTH, 0), height = Int(TiffTag.IMAGELENGTH, 0);
        if (width < 1 || height < 1) throw Fail(index, $"the page is {width}x{height}; both sides must be at least 1");
        if ((long)width * height > ImageFiles.MaxPixels)
            throw Fail(index, $"the page is {width}x{height}, more than the {ImageFiles.MaxPixels} pixels a page may have");
        int bits = Int(TiffTag.BITSPERSAMPLE, 1), samples = Int(TiffTag.SAMPLESPERPIXEL, 1), format = Int(TiffTag.SAMPLEFORMAT, 1);
        if (wantedBits != 8 && (bits != wantedBits || samples != 1 || format != wantedFormat))
            throw Fail(index, $"the page holds {samples} sample(s) of {bits} bits (format {format}); {wantedBits}-bit samples of format {wantedFormat} were expected");
        else if (wantedBits == 8 && (bits != 8 || samples != 1 || format != 1))
            throw Fail(index, $"the page holds {samples} sample(s) of {bits} bits per pixel{(format == 3 ? " (float)" : format == 2 ? " (signed)" : "")}; prediction needs 8-bit greyscale slices (0–255, as the ISBI volumes)");
        int photometric = Int(TiffTag.PHOTOMETRIC, 1);
        if (photometric is not (0 or 1))
            throw Fail(index, $"PhotometricInterpretation {photometric} is not greyscale (0 WhiteIsZero, 1 BlackIsZero)");
        return (height, width, photometric == 0);
    }

    private void ReadStrips(int index, byte[] pixels, int height, int width, int bytesPerSample)
    {
        width *= bytesPerSample; // bytes per row from here on
        int rowsPerStrip = Math.Clamp(_tiff.GetField(TiffTag.ROWSPERSTRIP) is { Length: > 0 } r ? r[0].ToInt() : height, 1, height);
        int strips = _tiff.NumberOfStrips(), needed = (height + rowsPerStrip - 1) / rowsPerStrip;
        if (strips < needed) throw Fail(index, $"the page has {strips} strip(s); {height} rows of {rowsPerStrip} per strip need {needed}");
        var buffer = new byte[(long)rowsPerStrip * width];
        for (int s = 0; s < needed; s++)
        {
            int rows = Math.Min(rowsPerStrip, height - s * rowsPerStrip), bytes = rows * width;
            int got = _tiff.ReadEncodedStrip(s, buffer, 0, bytes);
            if (got < bytes) throw Fail(index, $"strip {s} gave {Math.Max(got, 0)} of its {bytes} bytes; the file is truncated or damaged");
            Buffer.BlockCopy(buffer, 0, pixels, s * rowsPerStrip * width, bytes);
        }
    }

    private void ReadTiles(int index, byte[] pixels, int height, int width, int bytesPerSample)
    {
        int tw = _tiff.GetField(TiffTag.TILEWIDTH) is { Length: > 0 } a ? a[0].ToInt() : 0;
        int th = _tiff.GetField(TiffTag.TILELENGTH) is { Length: > 0 } b ? b[0].ToInt() : 0;
        if (tw < 1 || th < 1 || (long)tw * th > 1 << 26) throw Fail(index, $"the page's tiles are {tw}x{th}");
        var buffer = new byte[tw * th * bytesPerSample];
        int pixelWidth = width;
        width *= bytesPerSample;
        int tile = 0;
        for (int y = 0; y < height; y += th)
            for (int x = 0; x < pixelWidth; x += tw, tile++)
            {
                int got = _tiff.ReadEncodedTile(tile, buffer, 0, buffer.Length);
                if (got < buffer.Length) throw Fail(index, $"tile {tile} gave {Math.Max(got, 0)} of its {buffer.Length} bytes; the file is truncated or damaged");
                int columns = Math.Min(tw, pixelWidth - x) * bytesPerSample, rows = Math.Min(th, height - y);
                for (int row = 0; row < rows; row++)
                    Buffer.BlockCopy(buffer, row * tw * bytesPerSample, pixels, (y + row) * width + x * bytesPerSample, columns);
            }
    }

    public void Dispose() => Close(_tiff, _file);

    private static void Close(LibTiff? tiff, FileStream file)
    {
        try
        {
            tiff?.Dispose();
        }
        catch (Exception)
        {
            // a read-only TIFF has nothing to flush
        }
        file.Dispose();
    }
}
