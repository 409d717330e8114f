using System.Buffers.Binary;
using System.Runtime.InteropServices;
using BitMiracle.LibTiff.Classic;
using LibTiff = BitMiracle.LibTiff.Classic.Tiff;

namespace UNet.Segmentation.Imaging;

/// <summary>
/// One page as the reader checked it: what <see cref="TiffPageInfo"/> says, plus how its samples
/// are stored (per pixel, in planes) and cut (strips or tiles, called chunks here).
/// </summary>
internal sealed record TiffPage(TiffPageInfo Info, int SamplesPerPixel, bool Rgb, bool Separate, int ChunkWidth, int ChunkHeight, int ChunksAcross, int ChunksDown)
{
    public int BytesPerSample => Info.BitsPerSample / 8;

    public int Planes => Separate ? SamplesPerPixel : 1;

    public int ChunksPerPlane => ChunksAcross * ChunksDown;

    public int ChunkCount => ChunksPerPlane * Planes;

    /// <summary>Bytes of one pixel inside a chunk: all its samples, or one when planes are separate.</summary>
    public int ChunkPixelBytes => Separate ? BytesPerSample : BytesPerSample * SamplesPerPixel;

    /// <summary>Decoded bytes of the whole page, every sample of every pixel.</summary>
    public long PageBytes => (long)Info.Width * Info.Height * BytesPerSample * SamplesPerPixel;

    public string ChunkName(int chunk) => $"{(Info.IsTiled ? "tile" : "strip")} {chunk}";

    /// <summary>The part of the page a chunk covers: its left column, top row, and the columns and rows inside the page.</summary>
    public (int X, int Y, int Columns, int Rows) Region(int chunk)
    {
        int k = chunk % ChunksPerPlane;
        int x = k % ChunksAcross * ChunkWidth, y = k / ChunksAcross * ChunkHeight;
        return (x, y, Math.Min(ChunkWidth, Info.Width - x), Math.Min(ChunkHeight, Info.Height - y));
    }

    /// <summary>Decoded bytes a chunk must deliver: a whole tile, or a strip's rows inside the page.</summary>
    public int NeededBytes(int chunk) => (Info.IsTiled ? ChunkHeight : Region(chunk).Rows) * ChunkWidth * ChunkPixelBytes;
}

/// <summary>
/// Reads TIFF files held in memory through LibTiff.NET: walks the pages, checks each against what
/// this library supports and against the file's size before anything is allocated for pixels, then
/// has LibTiff.NET decode every strip or tile (decompression, predictor, byte order) and places them.
/// Every failure, LibTiff.NET's own included, becomes a <see cref="TiffFormatException"/> naming the
/// file and, past the header, the page.
/// </summary>
internal sealed class TiffReader : IDisposable
{
    /// <summary>
    /// The most pages a file may have: LibTiff.NET counts directories in a 16-bit number and cannot
    /// go further.
    /// </summary>
    public const int MaxPages = short.MaxValue;

    /// <summary>
    /// The tags that decide how pixels are decoded. LibTiff.NET drops such a tag with only a warning
    /// when its count or type is wrong (and then fills strip offsets with zeros, or takes a default
    /// sample format); the reader refuses the page instead.
    /// </summary>
    private static readonly HashSet<string> PixelTags =
    [
        "ImageWidth", "ImageLength", "BitsPerSample", "Compression", "PhotometricInterpretation", "FillOrder",
        "StripOffsets", "SamplesPerPixel", "RowsPerStrip", "StripByteCounts", "PlanarConfiguration", "Predictor",
        "TileWidth", "TileLength", "TileOffsets", "TileByteCounts", "SampleFormat", "ExtraSamples",
    ];

    private static readonly System.Text.RegularExpressions.Regex QuotedTag = new("\"([A-Za-z]+)\"");

    private readonly string _name;
    private readonly byte[] _data;
    private readonly LibTiff _tiff;
    private int? _page;

    /// <summary>Why the current page's byte counts cannot be trusted, told after its sample format and compression.</summary>
    private string? _byteCountProblem;

    private TiffReader(string name, byte[] data, LibTiff tiff)
    {
        _name = name;
        _data = data;
        _tiff = tiff;
    }

    private long FileLength => _data.Length;

    /// <summary>Describes every page.</summary>
    public static IReadOnlyList<TiffPageInfo> ReadInfo(string name, byte[] data) =>
        Run(name, data, MaxPages, reader => reader.Pages(colour: false).Select(p => p.Info).ToList());

    /// <summary>Reads every page as one greyscale volume.</summary>
    public static TiffVolume ReadVolume(string name, byte[] data) => Run(name, data, MaxPages, reader => reader.Volume());

    /// <summary>Reads the first page, greyscale or RGB, 8 or 16 bits, extra samples (alpha) dropped.</summary>
    public static DecodedImage ReadImage(string name, byte[] data) => Run(name, data, 1, reader => reader.FirstImage());

    private static T Run<T>(string name, byte[] data, int pages, Func<TiffReader, T> read)
    {
        CheckHeader(name, data);
        TiffPreflight.Check(name, data, pages);
        using var scope = LibTiffSupport.Enter();
        TiffReader? reader = null;
        try
        {
            // 'r' reads the first page; 'c' leaves single uncompressed strips whole (no "strip
            // chopping"), so strips are as the file declares them; '4' refuses BigTIFF.
            var stream = new MemoryStream(data, writable: false);
            var tiff = LibTiff.ClientOpen(name, "rc4", stream, WindowTiffStream.ForReading(stream))
                ?? throw new TiffFormatException(name, 1, "LibTiff.NET could not read the page's directory" + Warnings(name), null);
            reader = new TiffReader(name, data, tiff) { _page = 1 };
            reader.CheckDirectory();
            return read(reader);
        }
        catch (TiffFormatException)
        {
            throw;
        }
        catch (LibTiffException e)
        {
            throw new TiffFormatException(name, reader is null ? 1 : reader._page, WithoutName(e.Message, name) + Warnings(name), e);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // LibTiff.NET is not hardened against damaged input: what it throws while parsing these
            // bytes (an index out of range, a null reference, an overflow) is a property of the bytes.
            // Running out of memory is not (TiffPreflight bounds what LibTiff.NET allocates).
            throw new TiffFormatException(name, reader is null ? 1 : reader._page,
                $"LibTiff.NET failed on damaged data ({e.GetType().Name}: {e.Message})", e);
        }
        finally
        {
            reader?.Dispose();
        }
    }

    public void Dispose()
    {
        try
        {
            _tiff.Dispose();
        }
        catch (Exception)
        {
            // a read-only TIFF has nothing to flush; the error that brought us here matters more
        }
    }

    private TiffFormatException Fail(string problem) => new(_name, _page, problem, null);

    /// <summary>The warnings LibTiff.NET gave before an error, which often name the tag behind it, as " (after: ...)".</summary>
    private static string Warnings(string name)
    {
        var before = LibTiffSupport.TakeWarnings().Select(w => WithoutName(w, name)).ToList();
        return before.Count > 0 ? $" (after: {string.Join("; ", before.Take(3))})" : "";
    }

    /// <summary>LibTiff.NET's message without the file name it often repeats ("name: ..."); ours already names the file.</summary>
    private static string WithoutName(string message, string name) => message.Replace(name + ": ", "", StringComparison.Ordinal);

    /// <summary>Checks the 8-byte header, so that what is not a classic TIFF fails with a clear message.</summary>
    private static void CheckHeader(string name, byte[] data)
    {
        TiffFormatException Fail(string problem) => new(name, problem);
        if (data.Length < 4) throw Fail($"the file is too short to be a TIFF ({data.Length} bytes)");
        bool little = data[0] == 'I' && data[1] == 'I';
        if (!little && !(data[0] == 'M' && data[1] == 'M'))
            throw Fail($"not a TIFF file: it starts with 0x{data[0]:X2} 0x{data[1]:X2}, not the byte-order mark 'II' or 'MM'");
        ushort magic = little ? BinaryPrimitives.ReadUInt16LittleEndian(data.AsSpan(2)) : BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(2));
        if (magic == 43) throw Fail("BigTIFF is not supported (only classic TIFF, magic number 42)");
        if (magic != 42) throw Fail($"not a TIFF file: magic number {magic}, expected 42");
        if (data.Length < 8) throw Fail($"the file is truncated inside its 8-byte header ({data.Length} bytes)");
        uint first = little ? BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(4)) : BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(4));
        if (first == 0) throw Fail("the file has no image: the first IFD offset is 0");
        if (first > data.Length - 2) throw Fail($"the first IFD at offset {first} lies past the end of the file ({data.Length} bytes); the file is truncated or damaged");
    }

    /// <summary>Walks every page from the first, checking each; refuses loops and too many pages.</summary>
    private List<TiffPage> Pages(bool colour)
    {
        var pages = new List<TiffPage>();
        while (true)
        {
            pages.Add(Check(pages.Count, colour));
            if (_tiff.LastDirectory()) return pages;
            if (pages.Count >= MaxPages) throw Fail($"the IFD chain has more than {MaxPages} pages, LibTiff.NET's limit");
            _page = pages.Count + 1;
            if (!_tiff.ReadDirectory())
                throw Fail("the IFD chain loops: this page's directory is one already read");
            CheckDirectory();
        }
    }

    /// <summary>
    /// What LibTiff.NET lets pass in the directory just read and the reader does not: a pixel tag it
    /// dropped with a warning, and a link to the next directory cut off by the end of the file (which
    /// LibTiff.NET takes for "no further page", silently losing the pages after it).
    /// </summary>
    private void CheckDirectory()
    {
        _byteCountProblem = null;
        foreach (var warning in LibTiffSupport.TakeWarnings())
        {
            string text = WithoutName(warning, _name);
            if (text.Contains("calculating from imagelength", StringComparison.Ordinal))
            {
                // LibTiff.NET replaces missing, zero, short or inconsistent byte counts by sizes guessed
                // from the image's geometry. Only one uncompressed strip without the tag is safe to
                // derive (the size is then exact); otherwise the guess may read other data as pixels.
                bool missing = text.Contains("missing required", StringComparison.Ordinal);
                if (!missing || Int(TiffTag.COMPRESSION, 1) != 1)
                    _byteCountProblem = missing ? "the StripByteCounts tag is missing (LibTiff.NET would guess the strip sizes)" : $"the StripByteCounts tag is wrong ({text})";
                continue;
            }
            if (!text.Contains("ignored", StringComparison.Ordinal)) continue;
            foreach (System.Text.RegularExpressions.Match match in QuotedTag.Matches(text))
            {
                if (PixelTags.Contains(match.Groups[1].Value))
                    throw Fail($"the {match.Groups[1].Value} tag is malformed and LibTiff.NET would ignore it ({text})");
            }
        }
        long at = _tiff.CurrentDirOffset();
        bool little = _data[0] == 'I';
        if (at < 8 || at > FileLength - 2) throw Fail($"the directory offset {at} lies outside the file ({FileLength} bytes)");
        var countField = _data.AsSpan((int)at, 2);
        int entries = little ? BinaryPrimitives.ReadUInt16LittleEndian(countField) : BinaryPrimitives.ReadUInt16BigEndian(countField);
        long next = at + 2 + 12L * entries;
        if (next + 4 > FileLength)
            throw Fail($"the directory's link to the next page (offset {next}) runs past the end of the file ({FileLength} bytes); the file is truncated");
    }

    private TiffVolume Volume()
    {
        var pages = Pages(colour: false);
        var first = pages[0].Info;
        foreach (var page in pages.Skip(1))
        {
            var b = page.Info;
            if (first.Width != b.Width || first.Height != b.Height || first.SampleFormat != b.SampleFormat)
            {
                _page = null;
                throw Fail($"page {b.PageIndex + 1} is {b.Width}x{b.Height} {b.SampleFormat} but page 1 is {first.Width}x{first.Height} {first.SampleFormat}; all pages of a volume must share one size and sample format");
            }
        }
        long total = (long)pages.Count * first.Width * first.Height;
        _page = null;
        if (total > Array.MaxLength)
            throw Fail($"{pages.Count} pages of {first.Width}x{first.Height} are {total} samples, more than one array can hold");
        long totalBytes = pages.Sum(p => p.PageBytes), totalChunks = pages.Sum(p => (long)p.ChunkCount);
        int ratio = pages.Max(p => MaxRatio(p.Info.Compression));
        if (totalBytes > FileLength * ratio + 1024 * totalChunks)
            throw Fail($"the pages declare {totalBytes} bytes of pixels, more than a {FileLength}-byte file can hold; the sizes are forged or the file truncated");

        int area = first.Width * first.Height;
        _page = 1;
        if (!_tiff.SetDirectory(0)) throw Fail("LibTiff.NET could not return to the first page");
        switch (first.SampleFormat)
        {
            case TiffSampleFormat.UInt8:
                var bytes = new byte[total];
                DecodeAll(pages, p => bytes.AsSpan(p * area, area));
                return new TiffVolume(pages.Count, first.Height, first.Width, bytes);
            case TiffSampleFormat.UInt16:
                var words = new ushort[total];
                DecodeAll(pages, p => MemoryMarshal.AsBytes(words.AsSpan(p * area, area)));
                return new TiffVolume(pages.Count, first.Height, first.Width, words);
            default:
                var floats = new float[total];
                DecodeAll(pages, p => MemoryMarshal.AsBytes(floats.AsSpan(p * area, area)));
                return new TiffVolume(pages.Count, first.Height, first.Width, floats);
        }
    }

    private delegate Span<byte> PageTarget(int page);

    private void DecodeAll(List<TiffPage> pages, PageTarget target)
    {
        for (int p = 0; p < pages.Count; p++)
        {
            _page = p + 1;
            if (p > 0 && !_tiff.ReadDirectory()) throw Fail("LibTiff.NET could not read the page a second time");
            LibTiffSupport.TakeWarnings(); // the directory's, judged on the first pass
            Decode(pages[p], target(p));
        }
    }

    private DecodedImage FirstImage()
    {
        var page = Check(0, colour: true);
        if (page.PageBytes > FileLength * MaxRatio(page.Info.Compression) + 1024L * page.ChunkCount)
            throw Fail($"the page declares {page.PageBytes} bytes of pixels, more than a {FileLength}-byte file can hold; the size is forged or the file truncated");
        var info = page.Info;
        int spp = page.SamplesPerPixel, channels = page.Rgb ? 3 : 1;
        long pixels = (long)info.Width * info.Height;
        if (pixels > ImageFiles.MaxPixels)
            throw Fail($"the page is {info.Width}x{info.Height}, more than the {ImageFiles.MaxPixels} pixels ImageFiles reads");
        var raw = new byte[page.PageBytes];
        Decode(page, raw);
        var samples = new ushort[pixels * channels];
        if (info.BitsPerSample == 8)
        {
            for (long i = 0; i < pixels; i++)
                for (int c = 0; c < channels; c++) samples[i * channels + c] = raw[i * spp + c];
        }
        else
        {
            var words = MemoryMarshal.Cast<byte, ushort>(raw);
            for (long i = 0; i < pixels; i++)
                for (int c = 0; c < channels; c++) samples[i * channels + c] = words[(int)(i * spp + c)];
        }
        return new DecodedImage(info.Width, info.Height, channels, info.BitsPerSample, samples, ImageFileFormat.Tiff);
    }

    /// <summary>Checks the current page against what the reader supports and against the file's size.</summary>
    private TiffPage Check(int index, bool colour)
    {
        _page = index + 1;
        int width = Dimension(TiffTag.IMAGEWIDTH, "ImageWidth");
        int height = Dimension(TiffTag.IMAGELENGTH, "ImageLength");
        int samples = Int(TiffTag.SAMPLESPERPIXEL, 1);
        int photometric = Int(TiffTag.PHOTOMETRIC, samples >= 3 ? 2 : 1);
        bool rgb = photometric == 2;
        if (!colour && samples != 1)
            throw Fail($"SamplesPerPixel is {samples}{(rgb ? " (RGB)" : "")}: only single-channel greyscale images are supported");
        if (photometric is not (0 or 1 or 2) || (rgb && !colour))
        {
            string kind = photometric switch { 2 => "RGB", 3 => "palette colour", 4 => "transparency mask", 5 => "CMYK", 6 => "YCbCr", 8 => "CIE L*a*b*", _ => "unknown" };
            throw Fail($"PhotometricInterpretation {photometric} ({kind}) is not supported: only {(colour ? "greyscale (0 WhiteIsZero, 1 BlackIsZero) and RGB (2)" : "greyscale (0 WhiteIsZero, 1 BlackIsZero)")}");
        }
        if (colour && (rgb ? samples is not (3 or 4) : samples is not (1 or 2)))
            throw Fail($"SamplesPerPixel is {samples} with PhotometricInterpretation {photometric}: supported are 1 or 2 (grey, grey and alpha) and 3 or 4 (RGB, RGB and alpha)");

        int bits = Int(TiffTag.BITSPERSAMPLE, 1);
        var format = SampleFormatOf(bits, Int(TiffTag.SAMPLEFORMAT, 1));
        if (colour && format == TiffSampleFormat.Float32)
            throw Fail("32-bit float samples are not read as an image (only 8- and 16-bit unsigned integers); Tiff.Read reads float volumes");
        if (photometric == 0 && format == TiffSampleFormat.Float32)
            throw Fail("PhotometricInterpretation 0 (WhiteIsZero) with float samples is not supported");
        int planar = Int(TiffTag.PLANARCONFIG, 1);
        if (planar is not (1 or 2)) throw Fail($"PlanarConfiguration {planar} is not valid (1 or 2)");
        int code = Int(TiffTag.COMPRESSION, 1);
        var compression = FromCode(code)
            ?? throw Fail($"compression {code} ({(Enum.IsDefined((Compression)code) ? ((Compression)code).ToString() : "unknown")}) is not supported; supported are 1 (none), 5 (LZW), 8 and 32946 (Deflate), 32773 (PackBits)");
        int predictor = Int(TiffTag.PREDICTOR, 1);
        if (predictor == 3 && format != TiffSampleFormat.Float32)
            throw Fail($"Predictor 3 (floating-point differencing) needs 32-bit float samples, not {format}");
        if (predictor is not (1 or 2 or 3)) throw Fail($"Predictor {predictor} is not supported (1 none, 2 horizontal differencing, 3 floating point)");
        int bytesPerSample = bits / 8;
        if ((long)width * height * samples * bytesPerSample > int.MaxValue)
            throw Fail($"the page is {width}x{height} pixels of {samples} x {bits} bits, more than 2 GiB; pages that large are not supported");

        if (_byteCountProblem is not null) throw Fail(_byteCountProblem);

        bool tiled = _tiff.IsTiled();
        int chunkWidth, chunkHeight, rowsPerStrip = 0;
        if (tiled)
        {
            chunkWidth = Dimension(TiffTag.TILEWIDTH, "TileWidth");
            chunkHeight = Dimension(TiffTag.TILELENGTH, "TileLength");
        }
        else
        {
            int rows = Int(TiffTag.ROWSPERSTRIP, height);
            chunkWidth = width;
            chunkHeight = rowsPerStrip = rows <= 0 || rows > height ? height : rows;
        }
        bool separate = planar == 2 && samples > 1;
        if ((long)chunkWidth * chunkHeight * bytesPerSample * (separate ? 1 : samples) > int.MaxValue)
            throw Fail($"{(tiled ? "tiles" : "strips")} of {chunkWidth}x{chunkHeight} pixels are larger than 2 GiB");
        var page = new TiffPage(
            new TiffPageInfo
            {
                PageIndex = index, Width = width, Height = height, BitsPerSample = bits, SampleFormat = format,
                Compression = compression, CompressionCode = code, IsTiled = tiled, Predictor = predictor,
                RowsPerStrip = rowsPerStrip, TileWidth = tiled ? chunkWidth : 0, TileHeight = tiled ? chunkHeight : 0,
                WhiteIsZero = photometric == 0, IsBigEndian = _tiff.IsBigEndian(),
            },
            samples, rgb, separate, chunkWidth, chunkHeight,
            (int)((width + (long)chunkWidth - 1) / chunkWidth), (int)((height + (long)chunkHeight - 1) / chunkHeight));
        CheckChunks(page);
        return page;
    }

    /// <summary>Every chunk must exist, lie inside the file and be able to hold the bytes it must deliver.</summary>
    private void CheckChunks(TiffPage page)
    {
        bool tiled = page.Info.IsTiled;
        int declared = tiled ? _tiff.NumberOfTiles() : _tiff.NumberOfStrips();
        string what = tiled ? "tiles" : "strips";
        if (declared != page.ChunkCount)
            throw Fail($"LibTiff.NET counts {declared} {what} but the page's size needs {page.ChunkCount}");
        var offsets = Values(tiled ? TiffTag.TILEOFFSETS : TiffTag.STRIPOFFSETS, tiled ? "TileOffsets" : "StripOffsets", page.ChunkCount);
        var counts = Values(tiled ? TiffTag.TILEBYTECOUNTS : TiffTag.STRIPBYTECOUNTS, tiled ? "TileByteCounts" : "StripByteCounts", page.ChunkCount);
        int ratio = MaxRatio(page.Info.Compression), slack = page.Info.Compression == TiffCompression.None ? 0 : 1024;
        for (int c = 0; c < page.ChunkCount; c++)
        {
            string name = page.ChunkName(c);
            if (counts[c] == 0) throw Fail($"{name} is empty (byte count 0)");
            if (offsets[c] < 8) throw Fail($"{name} starts at offset {offsets[c]}, inside the file's header; its offset is missing or damaged");
            if (offsets[c] > (ulong)FileLength || counts[c] > (ulong)FileLength - offsets[c])
                throw Fail($"{name} at offset {offsets[c]} ({counts[c]} bytes) runs past the end of the file ({FileLength} bytes); the file is truncated or damaged");
            int needed = page.NeededBytes(c);
            if ((ulong)needed > counts[c] * (ulong)ratio + (ulong)slack)
                throw Fail($"{name} must decompress to {needed} bytes, more than its {counts[c]} bytes of {page.Info.Compression} data can hold; the declared size is forged or the data truncated");
        }
    }

    /// <summary>Has LibTiff.NET decode every chunk of the current page and places the samples in <paramref name="target"/>, pixel-interleaved.</summary>
    private void Decode(TiffPage page, Span<byte> target)
    {
        var info = page.Info;
        int bytesPerSample = page.BytesPerSample, samples = page.SamplesPerPixel, pixelBytes = page.ChunkPixelBytes;
        int chunkRowBytes = page.ChunkWidth * pixelBytes, targetRowBytes = info.Width * bytesPerSample * samples;
        // LibTiff.NET 2.4.660 undoes floating-point differencing (Predictor 3) into machine order and
        // then swaps the bytes of a big-endian file once more; swapping back gives the file's values.
        bool swapBack = info.Predictor == 3 && info.Compression is TiffCompression.Lzw or TiffCompression.Deflate && _tiff.IsByteSwapped();
        var buffer = new byte[page.NeededBytes(0)];
        for (int c = 0; c < page.ChunkCount; c++)
        {
            int needed = page.NeededBytes(c);
            int got;
            try
            {
                got = info.IsTiled ? _tiff.ReadEncodedTile(c, buffer, 0, needed) : _tiff.ReadEncodedStrip(c, buffer, 0, needed);
            }
            catch (LibTiffException e)
            {
                throw Fail($"{page.ChunkName(c)}: {WithoutName(e.Message, _name)}");
            }
            if (got < needed)
                throw Fail($"{page.ChunkName(c)} decoded to {Math.Max(got, 0)} bytes but {needed} are needed; the data is truncated or damaged");
            foreach (var warning in LibTiffSupport.TakeWarnings())
            {
                // LibTiff.NET's LZW decoder warns, and leaves the rest of the buffer as it was, when a
                // strip ends early; only the two notes about how the data was written are harmless.
                if (!warning.Contains("Old-style LZW codes", StringComparison.Ordinal) && !warning.Contains("not terminated with EOI code", StringComparison.Ordinal))
                    throw Fail($"{page.ChunkName(c)}: {WithoutName(warning, _name)}");
            }
            if (swapBack)
            {
                var values = MemoryMarshal.Cast<byte, uint>(buffer.AsSpan(0, needed));
                BinaryPrimitives.ReverseEndianness(values, values);
            }
            var (x, y, columns, rows) = page.Region(c);
            int plane = c / page.ChunksPerPlane;
            for (int r = 0; r < rows; r++)
            {
                var source = buffer.AsSpan(r * chunkRowBytes, columns * pixelBytes);
                var row = target.Slice((y + r) * targetRowBytes, targetRowBytes);
                if (!page.Separate)
                {
                    source.CopyTo(row[(x * pixelBytes)..]);
                    continue;
                }
                for (int i = 0; i < columns; i++)
                    source.Slice(i * bytesPerSample, bytesPerSample).CopyTo(row[(((x + i) * samples + plane) * bytesPerSample)..]);
            }
        }
        if (info.WhiteIsZero) InvertWhiteIsZero(target, bytesPerSample);
    }

    /// <summary>Inverts WhiteIsZero samples in place so that, as with BlackIsZero, larger means brighter.</summary>
    private static void InvertWhiteIsZero(Span<byte> samples, int bytesPerSample)
    {
        if (bytesPerSample == 1)
        {
            for (int i = 0; i < samples.Length; i++) samples[i] = (byte)~samples[i];
            return;
        }
        var words = MemoryMarshal.Cast<byte, ushort>(samples);
        for (int i = 0; i < words.Length; i++) words[i] = (ushort)~words[i];
    }

    private int Dimension(TiffTag tag, string name)
    {
        var value = _tiff.GetField(tag) ?? throw Fail($"the {name} tag is missing");
        long v = value[0].ToLong();
        if (v < 1 || v > int.MaxValue) throw Fail($"{name} is {v}, outside 1..{int.MaxValue}");
        return (int)v;
    }

    private int Int(TiffTag tag, int fallback)
    {
        var value = _tiff.GetField(tag);
        return value is { Length: > 0 } ? value[0].ToInt() : fallback;
    }

    /// <summary>The chunk offsets or byte counts, at least <paramref name="needed"/> of them.</summary>
    private ulong[] Values(TiffTag tag, string name, int needed)
    {
        var values = _tiff.GetField(tag)?[0].Value switch
        {
            ulong[] u => u,
            long[] l => l.Select(v => (ulong)v).ToArray(),
            _ => null,
        };
        if (values is null) throw Fail($"the {name} tag is missing");
        if (values.Length < needed) throw Fail($"{name} has {values.Length} values but the page needs {needed}");
        return values;
    }

    private TiffSampleFormat SampleFormatOf(int bits, int sampleFormat)
    {
        bool unsigned = sampleFormat is 1 or 4; // 4 = undefined, read as unsigned
        return (bits, sampleFormat) switch
        {
            (8, _) when unsigned => TiffSampleFormat.UInt8,
            (16, _) when unsigned => TiffSampleFormat.UInt16,
            (32, 3) => TiffSampleFormat.Float32,
            (8 or 16 or 32, 2) => throw Fail($"{bits}-bit signed integer samples (SampleFormat 2) are not supported"),
            (32, _) when unsigned => throw Fail("32-bit integer samples are not supported (only 32-bit float)"),
            (_, 3) => throw Fail($"{bits}-bit float samples are not supported (only 32-bit float)"),
            (8 or 16 or 32, _) => throw Fail($"SampleFormat {sampleFormat} is not supported"),
            _ => throw Fail($"{bits}-bit samples are not supported: only 8- and 16-bit unsigned integers and 32-bit float"),
        };
    }

    private static TiffCompression? FromCode(int code) => code switch
    {
        1 => TiffCompression.None,
        32773 => TiffCompression.PackBits,
        5 => TiffCompression.Lzw,
        8 or 32946 => TiffCompression.Deflate,
        _ => null,
    };

    /// <summary>
    /// The most decoded bytes one stored byte can give: a bound that rejects forged sizes before
    /// anything is allocated (Deflate ≤ 1032:1; 12-bit LZW ≈ 1340:1; PackBits 64:1).
    /// </summary>
    private static int MaxRatio(TiffCompression compression) => compression switch
    {
        TiffCompression.None => 1,
        TiffCompression.PackBits => 64,
        TiffCompression.Lzw => 1400,
        _ => 1040,
    };
}
