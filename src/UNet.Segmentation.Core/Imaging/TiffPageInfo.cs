namespace UNet.Segmentation.Imaging;

/// <summary>What one page (image file directory) of a TIFF declares, read without decoding pixels.</summary>
public sealed record TiffPageInfo
{
    /// <summary>Zero-based index of the page in the file's IFD chain.</summary>
    public required int PageIndex { get; init; }

    /// <summary>Width in pixels (ImageWidth).</summary>
    public required int Width { get; init; }

    /// <summary>Height in pixels (ImageLength).</summary>
    public required int Height { get; init; }

    /// <summary>Bits per sample: 8, 16 or 32.</summary>
    public required int BitsPerSample { get; init; }

    /// <summary>The sample type.</summary>
    public required TiffSampleFormat SampleFormat { get; init; }

    /// <summary>The compression of the page's strips or tiles.</summary>
    public required TiffCompression Compression { get; init; }

    /// <summary>The raw Compression tag value (for example 8 or 32946 for Deflate).</summary>
    public required int CompressionCode { get; init; }

    /// <summary>True when the page is stored in tiles, false when in strips.</summary>
    public required bool IsTiled { get; init; }

    /// <summary>The Predictor tag: 1 (none) or 2 (horizontal differencing).</summary>
    public required int Predictor { get; init; }

    /// <summary>Rows per strip (clamped to the height; the height when the tag is missing); 0 when tiled.</summary>
    public required int RowsPerStrip { get; init; }

    /// <summary>Tile width; 0 when stored in strips.</summary>
    public required int TileWidth { get; init; }

    /// <summary>Tile height (TileLength); 0 when stored in strips.</summary>
    public required int TileHeight { get; init; }

    /// <summary>True for PhotometricInterpretation 0 (WhiteIsZero): the reader inverts such pages.</summary>
    public required bool WhiteIsZero { get; init; }

    /// <summary>True when the file is big-endian ("MM").</summary>
    public required bool IsBigEndian { get; init; }
}
