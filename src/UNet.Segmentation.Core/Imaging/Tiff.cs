namespace UNet.Segmentation.Imaging;

/// <summary>
/// Reads and writes greyscale TIFF volumes, the format of microscopy stacks such as the ISBI 2012
/// data, through LibTiff.NET (BitMiracle.LibTiff.NET): classic TIFF (not BigTIFF), little- or
/// big-endian, multi-page, strips or tiles, uncompressed, PackBits, LZW or Deflate, with or without
/// a predictor (horizontal differencing, or floating-point for float samples), 8- or 16-bit
/// unsigned or 32-bit float samples, one sample per pixel. Files are written little-endian.
/// </summary>
/// <remarks>
/// Pages stored as WhiteIsZero (PhotometricInterpretation 0) are inverted while reading (v becomes
/// max − v), so that values mean what they mean in BlackIsZero files: larger is brighter. The
/// reader loads the whole file into memory (files up to 2 GiB) and reads at most 32,767 pages
/// (LibTiff.NET's limit). Damaged or unsupported files raise <see cref="TiffFormatException"/>
/// naming the file, the page and the problem — LibTiff.NET's own errors included, which reach us
/// through a throwing error handler instead of its default one that prints them (see
/// docs/data.md). Sizes are checked against the file before pixels are allocated, so a forged
/// header cannot exhaust memory.
/// </remarks>
public static class Tiff
{
    /// <summary>Reads every page of the file at <paramref name="path"/>.</summary>
    /// <exception cref="TiffFormatException">The file is damaged, not a TIFF, or uses an unsupported feature.</exception>
    public static TiffVolume Read(string path) => TiffReader.ReadVolume(path, Load(path));

    /// <summary>Reads every page of a TIFF from <paramref name="stream"/> (from its current position to its end).</summary>
    /// <param name="stream">The TIFF's bytes.</param>
    /// <param name="name">A name for the data, used in error messages.</param>
    /// <exception cref="TiffFormatException">The data is damaged, not a TIFF, or uses an unsupported feature.</exception>
    public static TiffVolume Read(Stream stream, string name) => TiffReader.ReadVolume(name, Load(stream, name));

    /// <summary>Describes every page of the file without decoding pixels; fails as <see cref="Read(string)"/> does on unsupported pages.</summary>
    public static IReadOnlyList<TiffPageInfo> ReadInfo(string path) => TiffReader.ReadInfo(path, Load(path));

    /// <summary>Describes every page of a TIFF read from <paramref name="stream"/> without decoding pixels.</summary>
    /// <param name="stream">The TIFF's bytes.</param>
    /// <param name="name">A name for the data, used in error messages.</param>
    public static IReadOnlyList<TiffPageInfo> ReadInfo(Stream stream, string name) => TiffReader.ReadInfo(name, Load(stream, name));

    /// <summary>
    /// Writes <paramref name="volume"/> to <paramref name="path"/> as a little-endian TIFF, one IFD per
    /// page, atomically: through a temporary file in the same folder that is flushed and renamed over
    /// the target, so that on any failure an existing file is left untouched.
    /// </summary>
    /// <param name="path">The file to create or replace.</param>
    /// <param name="volume">The pages to write.</param>
    /// <param name="compression">How to compress each strip.</param>
    public static void Write(string path, TiffVolume volume, TiffCompression compression = TiffCompression.None)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Validate(volume, compression);
        using var file = AtomicFile.Begin(path);
        TiffWriter.Write(file.Stream, volume, compression, path);
        file.Commit();
    }

    /// <summary>Writes <paramref name="volume"/> as a TIFF to <paramref name="stream"/>, starting at its position.</summary>
    /// <param name="stream">A readable, writable, seekable stream (LibTiff.NET reads back the directory
    /// chain when it adds a page); offsets in the file are relative to its position now, and it is
    /// left at the end of what was written.</param>
    /// <param name="volume">The pages to write.</param>
    /// <param name="compression">How to compress each strip.</param>
    public static void Write(Stream stream, TiffVolume volume, TiffCompression compression = TiffCompression.None)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanRead || !stream.CanWrite || !stream.CanSeek)
            throw new ArgumentException("the stream must be readable, writable and seekable", nameof(stream));
        Validate(volume, compression);
        TiffWriter.Write(stream, volume, compression, "stream");
    }

    private static void Validate(TiffVolume volume, TiffCompression compression)
    {
        ArgumentNullException.ThrowIfNull(volume);
        if (!Enum.IsDefined(compression)) throw new ArgumentOutOfRangeException(nameof(compression), compression, "unknown compression");
        if ((long)volume.PixelsPerPage * volume.BytesPerSample > int.MaxValue)
            throw new ArgumentException("pages larger than 2 GiB are not supported", nameof(volume));
        if (compression == TiffCompression.None && (long)volume.PageCount * volume.PixelsPerPage * volume.BytesPerSample > uint.MaxValue - (1L << 20))
            throw new ArgumentException("the volume is larger than classic TIFF's 4 GiB; write fewer pages per file", nameof(volume));
    }

    private static byte[] Load(string path) => ImageBytes.Load(path, TooLarge);

    private static byte[] Load(Stream stream, string name) => ImageBytes.Load(stream, name, TooLarge);

    private static TiffFormatException TooLarge(string name, long length) =>
        new(name, $"the file is {length} bytes; files over 2 GiB are not supported");
}
