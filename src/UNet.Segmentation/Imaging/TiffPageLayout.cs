namespace UNet.Segmentation.Imaging;

/// <summary>
/// One page checked against what the reader supports: its size, sample format, compression and
/// where its strips or tiles (both called chunks here) lie. Every size is validated against the
/// file before anything is allocated for the pixels.
/// </summary>
internal sealed class TiffPageLayout
{
    private TiffPageLayout(TiffPageInfo info, long[] offsets, long[] counts, int chunkWidth, int chunkHeight, int across, int down)
    {
        Info = info;
        Offsets = offsets;
        Counts = counts;
        ChunkWidth = chunkWidth;
        ChunkHeight = chunkHeight;
        ChunksAcross = across;
        ChunksDown = down;
    }

    public TiffPageInfo Info { get; }

    public long[] Offsets { get; }

    public long[] Counts { get; }

    public int ChunkWidth { get; }

    public int ChunkHeight { get; }

    public int ChunksAcross { get; }

    public int ChunksDown { get; }

    public int ChunkCount => ChunksAcross * ChunksDown;

    public int BytesPerSample => Info.BitsPerSample / 8;

    public int ChunkRowBytes => ChunkWidth * BytesPerSample;

    public long PageBytes => (long)Info.Width * Info.Height * BytesPerSample;

    /// <summary>The largest number of decompressed bytes any chunk must deliver.</summary>
    public int MaxChunkBytes { get; private set; }

    public string ChunkName(int chunk) => $"{(Info.IsTiled ? "tile" : "strip")} {chunk} of page {Info.PageIndex + 1}";

    /// <summary>The part of the page a chunk covers: its left column, top row, and the columns and rows inside the page.</summary>
    public (int X, int Y, int Columns, int Rows) Region(int chunk)
    {
        int x = chunk % ChunksAcross * ChunkWidth, y = chunk / ChunksAcross * ChunkHeight;
        return (x, y, Math.Min(ChunkWidth, Info.Width - x), Math.Min(ChunkHeight, Info.Height - y));
    }

    /// <summary>Decompressed bytes the chunk must deliver: its rows inside the page, each a full chunk row.</summary>
    public int NeededBytes(int chunk) => Region(chunk).Rows * ChunkRowBytes;

    public static TiffPageLayout Create(TiffSource source, TiffIfd ifd)
    {
        string page = $"page {ifd.PageIndex + 1}";
        TiffFormatException Fail(string problem) => source.Fail($"{page}: {problem}");

        int width = Dimension(source, ifd, TiffTags.ImageWidth, page);
        int height = Dimension(source, ifd, TiffTags.ImageLength, page);
        long samples = ifd.Scalar(TiffTags.SamplesPerPixel, 1);
        long photometric = ifd.Scalar(TiffTags.PhotometricInterpretation, 1);
        if (samples != 1)
            throw Fail($"SamplesPerPixel is {samples}{(photometric == 2 ? " (RGB)" : "")}: only single-channel greyscale images are supported");
        if (photometric is not (0 or 1))
        {
            string kind = photometric switch { 2 => "RGB", 3 => "palette colour", 4 => "transparency mask", 5 => "CMYK", 6 => "YCbCr", _ => "unknown" };
            throw Fail($"PhotometricInterpretation {photometric} ({kind}) is not supported: only greyscale (0 WhiteIsZero, 1 BlackIsZero)");
        }
        var format = SampleFormatOf(ifd.Scalar(TiffTags.BitsPerSample, 1), ifd.Scalar(TiffTags.SampleFormat, 1), Fail);
        int bits = format switch { TiffSampleFormat.UInt8 => 8, TiffSampleFormat.UInt16 => 16, _ => 32 };
        if (photometric == 0 && format == TiffSampleFormat.Float32)
            throw Fail("PhotometricInterpretation 0 (WhiteIsZero) with float samples is not supported");
        long planar = ifd.Scalar(TiffTags.PlanarConfiguration, 1);
        if (planar is not (1 or 2)) throw Fail($"PlanarConfiguration {planar} is not valid (1 or 2)");
        long code = ifd.Scalar(TiffTags.Compression, 1);
        var compression = TiffCompressionCodes.FromCode(code)
            ?? throw Fail($"compression {code} ({TiffCompressionCodes.Describe(code)}) is not supported; supported are 1 (none), 5 (LZW), 8 and 32946 (Deflate), 32773 (PackBits)");
        long predictor = ifd.Scalar(TiffTags.Predictor, 1);
        if (predictor == 3) throw Fail("Predictor 3 (floating-point differencing) is not supported");
        if (predictor is not (1 or 2)) throw Fail($"Predictor {predictor} is not supported (1 none, 2 horizontal differencing)");
        int bytesPerSample = bits / 8;
        if ((long)width * height > int.MaxValue || (long)width * height * bytesPerSample > int.MaxValue)
            throw Fail($"the page is {width}x{height} pixels of {bits} bits, more than 2 GiB; pages that large are not supported");

        bool tiled = ifd.Has(TiffTags.TileWidth) || ifd.Has(TiffTags.TileLength) || ifd.Has(TiffTags.TileOffsets);
        int chunkWidth, chunkHeight, rowsPerStrip = 0;
        if (tiled)
        {
            chunkWidth = Dimension(source, ifd, TiffTags.TileWidth, page);
            chunkHeight = Dimension(source, ifd, TiffTags.TileLength, page);
            if ((long)chunkWidth * chunkHeight * bytesPerSample > int.MaxValue)
                throw Fail($"tiles of {chunkWidth}x{chunkHeight} pixels are larger than 2 GiB");
        }
        else
        {
            long rows = ifd.Scalar(TiffTags.RowsPerStrip, height);
            chunkWidth = width;
            chunkHeight = rowsPerStrip = rows <= 0 || rows > height ? height : (int)rows;
        }
        int across = (int)((width + (long)chunkWidth - 1) / chunkWidth);
        int down = (int)((height + (long)chunkHeight - 1) / chunkHeight);
        long chunks = (long)across * down; // ≤ width × height ≤ 2^31 - 1

        ushort offsetsTag = tiled && ifd.Has(TiffTags.TileOffsets) ? TiffTags.TileOffsets : TiffTags.StripOffsets;
        ushort countsTag = tiled && ifd.Has(TiffTags.TileByteCounts) ? TiffTags.TileByteCounts : TiffTags.StripByteCounts;
        long[] offsets = ifd.Array(offsetsTag, chunks);
        long[] counts = ifd.Has(countsTag) || compression != TiffCompression.None ? ifd.Array(countsTag, chunks) : new long[chunks];

        var info = new TiffPageInfo
        {
            PageIndex = ifd.PageIndex, Width = width, Height = height, BitsPerSample = bits, SampleFormat = format,
            Compression = compression, CompressionCode = (int)code, IsTiled = tiled, Predictor = (int)predictor,
            RowsPerStrip = rowsPerStrip, TileWidth = tiled ? chunkWidth : 0, TileHeight = tiled ? chunkHeight : 0,
            WhiteIsZero = photometric == 0, IsBigEndian = !source.LittleEndian,
        };
        var layout = new TiffPageLayout(info, offsets, counts, chunkWidth, chunkHeight, across, down);
        layout.CheckChunks(source, ifd.Has(countsTag));
        return layout;
    }

    /// <summary>Every chunk must lie inside the file and be able to hold the bytes it must deliver.</summary>
    private void CheckChunks(TiffSource source, bool countsGiven)
    {
        int ratio = TiffCompressionCodes.MaxRatio(Info.Compression), slack = TiffCompressionCodes.Slack(Info.Compression);
        for (int c = 0; c < ChunkCount; c++)
        {
            int needed = NeededBytes(c);
            if (!countsGiven) Counts[c] = needed; // uncompressed without byte counts: derived, as libtiff does
            if (Counts[c] <= 0) throw source.Fail($"{ChunkName(c)} is empty (byte count {Counts[c]})");
            source.Require(Offsets[c], Counts[c], ChunkName(c));
            if (needed > Counts[c] * ratio + slack)
                throw source.Fail($"{ChunkName(c)} must decompress to {needed} bytes, more than its {Counts[c]} bytes of {Info.Compression} data can hold; the declared size is forged or the data truncated");
            MaxChunkBytes = Math.Max(MaxChunkBytes, needed);
        }
    }

    private static int Dimension(TiffSource source, TiffIfd ifd, ushort tag, string page)
    {
        long value = ifd.Scalar(tag) ?? throw source.Fail($"{page}: the {TiffTags.Name(tag)} tag is missing");
        if (value < 1 || value > int.MaxValue) throw source.Fail($"{page}: {TiffTags.Name(tag)} is {value}, outside 1..{int.MaxValue}");
        return (int)value;
    }

    private static TiffSampleFormat SampleFormatOf(long bits, long sampleFormat, Func<string, TiffFormatException> fail)
    {
        bool unsigned = sampleFormat is 1 or 4; // 4 = undefined, read as unsigned
        return (bits, sampleFormat) switch
        {
            (8, _) when unsigned => TiffSampleFormat.UInt8,
            (16, _) when unsigned => TiffSampleFormat.UInt16,
            (32, 3) => TiffSampleFormat.Float32,
            (8 or 16 or 32, 2) => throw fail($"{bits}-bit signed integer samples (SampleFormat 2) are not supported"),
            (32, _) when unsigned => throw fail("32-bit integer samples are not supported (only 32-bit float)"),
            (_, 3) => throw fail($"{bits}-bit float samples are not supported (only 32-bit float)"),
            (8 or 16 or 32, _) => throw fail($"SampleFormat {sampleFormat} is not supported"),
            _ => throw fail($"{bits}-bit samples are not supported: only 8- and 16-bit unsigned integers and 32-bit float"),
        };
    }
}
