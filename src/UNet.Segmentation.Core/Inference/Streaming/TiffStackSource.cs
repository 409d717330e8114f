using UNet.Segmentation.Imaging;

namespace UNet.Segmentation.Inference.Streaming;

/// <summary>
/// The 8-bit greyscale pages of one multi-page TIFF or BigTIFF file, read one at a time straight
/// from the file (strips or tiles, uncompressed, PackBits, LZW or Deflate; WhiteIsZero inverted as
/// <see cref="Tiff.Read(string)"/> does), at most 32,767 pages (LibTiff.NET's limit). Damaged or
/// truncated pages raise <see cref="TiffFormatException"/>, pages of another depth
/// <see cref="VolumePageException"/>; both name the file and the page.
/// </summary>
public sealed class TiffStackSource : VolumeSource
{
    private readonly TiffPageReader _reader;
    private readonly string[] _names;

    /// <summary>Opens <paramref name="path"/> and counts its pages.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="TiffFormatException">It is not a TIFF, or its directory chain is damaged.</exception>
    public TiffStackSource(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        InputPath = path;
        _reader = TiffPageReader.Open(path);
        _names = Enumerable.Range(1, _reader.PageCount).Select(p => $"page-{p:D5}").ToArray();
    }

    /// <inheritdoc/>
    public override string InputPath { get; }

    /// <inheritdoc/>
    public override int PageCount => _reader.PageCount;

    /// <inheritdoc/>
    public override IReadOnlyList<string> PageNames => _names;

    /// <inheritdoc/>
    public override (int Height, int Width) Describe(int index) => Translate(index, () => _reader.Describe(index));

    /// <inheritdoc/>
    public override VolumePage ReadPage(int index) => Translate(index, () =>
    {
        var pixels = _reader.ReadPage(index, out int height, out int width);
        return new VolumePage(index, InputPath, height, width, pixels);
    });

    /// <summary>A page of another depth is the volume's problem, not the TIFF's: it becomes a <see cref="VolumePageException"/>.</summary>
    private T Translate<T>(int index, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (TiffFormatException e) when (e.Problem.Contains("prediction needs 8-bit", StringComparison.Ordinal))
        {
            string problem = e.Problem.StartsWith("page ", StringComparison.Ordinal) ? e.Problem[(e.Problem.IndexOf(':') + 2)..] : e.Problem;
            throw new VolumePageException(InputPath, index + 1, problem, e);
        }
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing) _reader.Dispose();
    }
}
