namespace UNet.Segmentation.Imaging;

/// <summary>The TIFF tag numbers this library reads or writes (TIFF 6.0, section 8 and appendix A).</summary>
internal static class TiffTags
{
    public const ushort NewSubfileType = 254;
    public const ushort ImageWidth = 256;
    public const ushort ImageLength = 257;
    public const ushort BitsPerSample = 258;
    public const ushort Compression = 259;
    public const ushort PhotometricInterpretation = 262;
    public const ushort StripOffsets = 273;
    public const ushort SamplesPerPixel = 277;
    public const ushort RowsPerStrip = 278;
    public const ushort StripByteCounts = 279;
    public const ushort PlanarConfiguration = 284;
    public const ushort PageNumber = 297;
    public const ushort Predictor = 317;
    public const ushort TileWidth = 322;
    public const ushort TileLength = 323;
    public const ushort TileOffsets = 324;
    public const ushort TileByteCounts = 325;
    public const ushort SampleFormat = 339;

    /// <summary>The tag's name for messages, or its number.</summary>
    public static string Name(ushort tag) => tag switch
    {
        NewSubfileType => "NewSubfileType",
        ImageWidth => "ImageWidth",
        ImageLength => "ImageLength",
        BitsPerSample => "BitsPerSample",
        Compression => "Compression",
        PhotometricInterpretation => "PhotometricInterpretation",
        StripOffsets => "StripOffsets",
        SamplesPerPixel => "SamplesPerPixel",
        RowsPerStrip => "RowsPerStrip",
        StripByteCounts => "StripByteCounts",
        PlanarConfiguration => "PlanarConfiguration",
        PageNumber => "PageNumber",
        Predictor => "Predictor",
        TileWidth => "TileWidth",
        TileLength => "TileLength",
        TileOffsets => "TileOffsets",
        TileByteCounts => "TileByteCounts",
        SampleFormat => "SampleFormat",
        _ => $"tag {tag}",
    };
}

/// <summary>TIFF field types (TIFF 6.0, section 2) and their sizes.</summary>
internal static class TiffFieldType
{
    public const ushort Byte = 1;
    public const ushort Short = 3;
    public const ushort Long = 4;

    /// <summary>Bytes per value of an integer type, or 0 for types that are not integers.</summary>
    public static int IntegerSize(ushort type) => type switch
    {
        1 or 6 or 7 => 1,  // BYTE, SBYTE, UNDEFINED
        3 or 8 => 2,       // SHORT, SSHORT
        4 or 9 or 13 => 4, // LONG, SLONG, IFD
        _ => 0,
    };

    /// <summary>True for the signed integer types.</summary>
    public static bool IsSigned(ushort type) => type is 6 or 8 or 9;
}

/// <summary>Compression codes, their names and how far each can expand.</summary>
internal static class TiffCompressionCodes
{
    public static ushort Code(TiffCompression compression) => compression switch
    {
        TiffCompression.None => 1,
        TiffCompression.PackBits => 32773,
        TiffCompression.Lzw => 5,
        TiffCompression.Deflate => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(compression), compression, "unknown compression"),
    };

    public static TiffCompression? FromCode(long code) => code switch
    {
        1 => TiffCompression.None,
        32773 => TiffCompression.PackBits,
        5 => TiffCompression.Lzw,
        8 or 32946 => TiffCompression.Deflate,
        _ => null,
    };

    /// <summary>A name for an unsupported code, for messages.</summary>
    public static string Describe(long code) => code switch
    {
        2 => "CCITT modified Huffman RLE",
        3 => "CCITT Group 3 fax",
        4 => "CCITT Group 4 fax",
        6 => "old-style JPEG",
        7 => "JPEG",
        32771 => "NeXT 2-bit RLE",
        32809 => "ThunderScan",
        34661 => "JBIG",
        34676 or 34677 => "SGI LogLuv",
        34712 => "JPEG 2000",
        34887 => "LERC",
        34925 => "LZMA",
        50000 => "Zstandard",
        50001 => "WebP",
        50002 => "JPEG XL",
        _ => "unknown",
    };

    /// <summary>
    /// The most decompressed bytes one compressed byte can produce: a bound used to reject forged
    /// sizes before allocating (Deflate ≤ 1032:1; 12-bit LZW ≈ 1340:1; PackBits 64:1).
    /// </summary>
    public static int MaxRatio(TiffCompression compression) => compression switch
    {
        TiffCompression.None => 1,
        TiffCompression.PackBits => 64,
        TiffCompression.Lzw => 1400,
        _ => 1040,
    };

    /// <summary>Slack added to the bound for tiny strips (headers, end codes).</summary>
    public static int Slack(TiffCompression compression) => compression == TiffCompression.None ? 0 : 1024;
}
