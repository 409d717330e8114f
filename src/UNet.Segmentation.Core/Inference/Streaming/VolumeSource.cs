namespace UNet.Segmentation.Inference.Streaming;

/// <summary>
/// Where a streaming prediction reads its pages: one at a time, in order, each decoded only when
/// asked for, so that a volume larger than memory can be read. <see cref="Open"/> picks the source
/// for a path: a multi-page TIFF or BigTIFF file (<see cref="TiffStackSource"/>) or a folder of
/// single-page images (<see cref="ImageFolderSource"/>). Called from one thread at a time.
/// </summary>
public abstract class VolumeSource : IDisposable
{
    /// <summary>The stack file or the folder.</summary>
    public abstract string InputPath { get; }

    /// <summary>Pages in the volume.</summary>
    public abstract int PageCount { get; }

    /// <summary>A name per page for per-page outputs.</summary>
    public abstract IReadOnlyList<string> PageNames { get; }

    /// <summary>The size of page <paramref name="index"/> without decoding its pixels where the format allows.</summary>
    /// <exception cref="VolumePageException">The page is not 8-bit greyscale or cannot be read.</exception>
    public abstract (int Height, int Width) Describe(int index);

    /// <summary>Decodes page <paramref name="index"/> (zero-based) as 8-bit greyscale.</summary>
    /// <exception cref="VolumePageException">The page is not 8-bit greyscale, or its file cannot be read.</exception>
    /// <exception cref="Imaging.ImageFormatException">The page's data is damaged or truncated (names the file, and the page for TIFF).</exception>
    public abstract VolumePage ReadPage(int index);

    /// <summary>Opens <paramref name="path"/>: a folder as an <see cref="ImageFolderSource"/>, a file as a <see cref="TiffStackSource"/>.</summary>
    /// <exception cref="FileNotFoundException">Neither a file nor a folder exists there.</exception>
    public static VolumeSource Open(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (Directory.Exists(path)) return new ImageFolderSource(path);
        if (File.Exists(path)) return new TiffStackSource(path);
        throw new FileNotFoundException($"the input '{path}' is neither a file nor a folder", path);
    }

    /// <summary>Releases the files held open.</summary>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases what the source holds.</summary>
    protected virtual void Dispose(bool disposing)
    {
    }
}
