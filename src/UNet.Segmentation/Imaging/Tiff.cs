namespace UNet.Segmentation.Imaging;

/// <summary>
/// Reads and writes greyscale TIFF volumes, the format of microscopy stacks such as the ISBI 2012
/// data. A managed codec of its own: classic TIFF (not BigTIFF), little- or big-endian, multi-page,
/// strips or tiles, uncompressed, PackBits, LZW (with horizontal differencing) or Deflate,
/// 8- or 16-bit unsigned or 32-bit float samples, one sample per pixel.
/// </summary>
/// <remarks>
/// Pages stored as WhiteIsZero (PhotometricInterpretation 0) are inverted while reading (v becomes
/// max − v), so that values mean what they mean in BlackIsZero files: larger is brighter. The
/// reader loads the whole file into memory (files up to 2 GiB). Damaged or unsupported files raise
/// <see cref="TiffFormatException"/> naming the file and the problem, and sizes are checked against
/// the file before pixels are allocated, so a forged header cannot exhaust memory.
/// </remarks>
public static class Tiff
{
    /// <summary>Reads every page of the file at <paramref name="path"/>.</summary>
    /// <exception cref="TiffFormatException">The file is damaged, not a TIFF, or uses an unsupported feature.</exception>
    public static TiffVolume Read(string path) => Guarded(Load(path), TiffReader.Read);

    /// <summary>Reads every page of a TIFF from <paramref name="stream"/> (from its current position to its end).</summary>
    /// <param name="stream">The TIFF's bytes.</param>
    /// <param name="name">A name for the data, used in error messages.</param>
    /// <exception cref="TiffFormatException">The data is damaged, not a TIFF, or uses an unsupported feature.</exception>
    public static TiffVolume Read(Stream stream, string name) => Guarded(Load(stream, name), TiffReader.Read);

    /// <summary>Describes every page of the file without decoding pixels; fails as <see cref="Read(string)"/> does on unsupported pages.</summary>
    public static IReadOnlyList<TiffPageInfo> ReadInfo(string path) => Guarded(Load(path), TiffReader.ReadInfo);

    /// <summary>Describes every page of a TIFF read from <paramref name="stream"/> without decoding pixels.</summary>
    /// <param name="stream">The TIFF's bytes.</param>
    /// <param name="name">A name for the data, used in error messages.</param>
    public static IReadOnlyList<TiffPageInfo> ReadInfo(Stream stream, string name) => Guarded(Load(stream, name), TiffReader.ReadInfo);

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
        TiffWriter.Write(file.Stream, volume, compression);
        file.Commit();
    }

    /// <summary>Writes <paramref name="volume"/> as a TIFF to a seekable <paramref name="stream"/>, starting at its position.</summary>
    /// <param name="stream">A writable, seekable stream; offsets in the file are relative to its position now.</param>
    /// <param name="volume">The pages to write.</param>
    /// <param name="compression">How to compress each strip.</param>
    public static void Write(Stream stream, TiffVolume volume, TiffCompression compression = TiffCompression.None)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanWrite || !stream.CanSeek) throw new ArgumentException("the stream must be writable and seekable", nameof(stream));
        Validate(volume, compression);
        TiffWriter.Write(stream, volume, compression);
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

    /// <summary>
    /// The last line of defence: the reader checks every offset and size itself, so an indexing or
    /// arithmetic error here means damaged data slipped past a check. It still surfaces as a
    /// <see cref="TiffFormatException"/> naming the file, with the original error inside.
    /// </summary>
    private static T Guarded<T>(TiffSource source, Func<TiffSource, T> read)
    {
        try
        {
            return read(source);
        }
        catch (Exception e) when (e is IndexOutOfRangeException or ArgumentException or OverflowException
                                      or InvalidCastException or InvalidOperationException or InvalidDataException)
        {
            throw source.Fail($"the reader failed on damaged data ({e.GetType().Name}: {e.Message})", e);
        }
    }

    private static TiffSource Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        return Load(stream, path);
    }

    private static TiffSource Load(Stream stream, string name)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(name);
        if (stream.CanSeek)
        {
            long length = stream.Length - stream.Position;
            if (length > Array.MaxLength) throw new TiffFormatException(name, $"the file is {length} bytes; files over 2 GiB are not supported");
            var data = new byte[Math.Max(0, length)];
            stream.ReadExactly(data);
            return new TiffSource(name, data);
        }
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return new TiffSource(name, copy.ToArray());
    }
}
