using UNet.Segmentation.Imaging;

namespace UNet.Segmentation.Inference.Streaming;

/// <summary>
/// A folder of single-page 8-bit greyscale images (TIFF or PNG, told by their first bytes), one page
/// per file, in natural order of their names (<see cref="NaturalOrder"/>: <c>s2.tif</c> before
/// <c>s10.tif</c>). Files whose names end in .tif, .tiff or .png count (case ignored); hidden files
/// (a leading dot) do not. Each file is read only when its page is asked for.
/// </summary>
public sealed class ImageFolderSource : VolumeSource
{
    private static readonly string[] Extensions = [".tif", ".tiff", ".png"];
    private readonly string[] _files;
    private readonly string[] _names;

    /// <summary>Lists the folder's images.</summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="InvalidDataException">It holds no TIFF or PNG file.</exception>
    public ImageFolderSource(string folder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"the input folder '{folder}' does not exist");
        InputPath = folder;
        _files = Directory.EnumerateFiles(folder)
            .Where(f => !Path.GetFileName(f).StartsWith('.') && Extensions.Contains(Path.GetExtension(f), StringComparer.OrdinalIgnoreCase))
            .OrderBy(f => Path.GetFileName(f), NaturalOrder.Instance)
            .ToArray();
        if (_files.Length == 0) throw new InvalidDataException($"the input folder '{folder}' holds no .tif, .tiff or .png image");
        _names = _files.Select(Path.GetFileNameWithoutExtension).ToArray()!;
    }

    /// <inheritdoc/>
    public override string InputPath { get; }

    /// <inheritdoc/>
    public override int PageCount => _files.Length;

    /// <inheritdoc/>
    public override IReadOnlyList<string> PageNames => _names;

    /// <summary>The image files, in page order.</summary>
    public IReadOnlyList<string> Files => _files;

    /// <inheritdoc/>
    public override (int Height, int Width) Describe(int index)
    {
        var page = ReadPage(index);
        return (page.Height, page.Width);
    }

    /// <inheritdoc/>
    public override VolumePage ReadPage(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, _files.Length);
        string file = _files[index];
        DecodedImage image;
        try
        {
            image = ImageFiles.Read(file);
        }
        catch (ImageFormatException e)
        {
            throw new VolumePageException(file, index + 1, e.Problem, e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new VolumePageException(file, index + 1, $"the file could not be read ({e.Message})", e);
        }
        if (image.Channels != 1 || image.BitsPerSample != 8)
            throw new VolumePageException(file, index + 1,
                $"the image has {image.Channels} channel(s) of {image.BitsPerSample} bits; prediction needs 8-bit greyscale slices (0–255)");
        var pixels = new byte[image.Samples.Length];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = (byte)image.Samples[i];
        return new VolumePage(index, file, image.Height, image.Width, pixels);
    }
}
