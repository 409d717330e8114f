using TorchSharp;
using static TorchSharp.torch;

namespace UNet.Segmentation.Data;

/// <summary>
/// Your own data: a folder with <c>images/</c> and <c>masks/</c> holding files of the same names
/// (PNG, TIFF or JPEG images, grey or RGB; PNG or TIFF masks), and optionally <c>test/</c> with
/// images to predict. Masks hold class indices 0..K−1 per pixel; for two classes 0/255 masks are
/// read as 0/1. Images may have any size (each its mask's); training draws tiles of them
/// (overlap-tile mode) or resizes them whole (reference mode). Items are the image files in
/// ordinal order of their names; folds split them as <see cref="CrossValidation"/> does. Every
/// problem is a <see cref="DataFileException"/> naming the file.
/// </summary>
public sealed class FolderDataset : SegmentationData
{
    /// <summary>The file extensions read as images (compared without case).</summary>
    public static readonly IReadOnlyList<string> ImageExtensions = [".png", ".tif", ".tiff", ".jpg", ".jpeg"];

    /// <summary>The file extensions read as masks (compared without case).</summary>
    public static readonly IReadOnlyList<string> MaskExtensions = [".png", ".tif", ".tiff"];

    private readonly FolderItem[] _items;

    private FolderDataset(string source, int classes, int channels, FolderItem[] items, IReadOnlyList<string> testFiles)
    {
        Source = source;
        Classes = classes;
        ImageChannels = channels;
        _items = items;
        TestFiles = testFiles;
    }

    /// <inheritdoc/>
    public override string Source { get; }

    /// <inheritdoc/>
    public override int Count => _items.Length;

    /// <inheritdoc/>
    public override int ImageChannels { get; }

    /// <inheritdoc/>
    public override int Classes { get; }

    /// <summary>The image file of each item, in item order.</summary>
    public IReadOnlyList<string> ImageFiles => _items.Select(i => i.ImagePath).ToList();

    /// <summary>The images of <c>test/</c> (sorted by name), empty when there is none.</summary>
    public IReadOnlyList<string> TestFiles { get; }

    /// <summary>The size of item <paramref name="item"/>'s image.</summary>
    public (int Height, int Width) SizeOf(int item) => (_items[item].Height, _items[item].Width);

    /// <summary>Whether <paramref name="directory"/> has the layout this class reads (<c>images/</c> and <c>masks/</c>).</summary>
    public static bool HasLayout(string directory) =>
        Directory.Exists(Path.Combine(directory, "images")) && Directory.Exists(Path.Combine(directory, "masks"));

    /// <summary>
    /// Reads every image and mask of <paramref name="directory"/> into memory and checks them: each
    /// image has a mask and the reverse, sizes agree, all images have the same number of channels,
    /// and every mask value lies in 0..<paramref name="classes"/>−1 (0/255 masks count as 0/1 for
    /// two classes).
    /// </summary>
    public static FolderDataset Load(string directory, int classes = 2)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        if (classes is < 2 or > 256) throw new ArgumentOutOfRangeException(nameof(classes), classes, "classes must lie in 2..256");
        if (!Directory.Exists(directory)) throw new DirectoryNotFoundException($"the data folder {directory} does not exist");
        string imagesDir = Path.Combine(directory, "images"), masksDir = Path.Combine(directory, "masks");
        if (!HasLayout(directory))
            throw new DataFileException(directory, "a data folder needs images/ and masks/ (files of the same names), or the ISBI files train-volume.tif and train-labels.tif");
        var images = Files(imagesDir, ImageExtensions);
        var masks = Files(masksDir, MaskExtensions);
        foreach (var (stem, path) in masks)
            if (!images.ContainsKey(stem)) throw new DataFileException(path, $"is a mask without an image: images/ has no {stem}.* file");
        foreach (var (stem, path) in images)
            if (!masks.ContainsKey(stem)) throw new DataFileException(path, $"is an image without a mask: masks/ has no {stem}.png or {stem}.tif");
        if (images.Count == 0) throw new DataFileException(imagesDir, $"holds no images ({string.Join(", ", ImageExtensions)})");

        var items = new List<FolderItem>();
        string? firstImage = null;
        int channels = 0;
        foreach (var stem in images.Keys.Order(StringComparer.Ordinal))
        {
            var image = FolderImages.ReadImage(images[stem]);
            if (firstImage is null) (firstImage, channels) = (images[stem], image.Channels);
            else if (image.Channels != channels)
                throw new DataFileException(images[stem], $"has {image.Channels} channel(s) but {firstImage} has {channels}: all images must be grey or all RGB");
            var mask = FolderImages.ReadMask(masks[stem], classes);
            if (mask.Width != image.Width || mask.Height != image.Height)
                throw new DataFileException(masks[stem], $"is {mask.Width}x{mask.Height} but its image {images[stem]} is {image.Width}x{image.Height}");
            items.Add(new FolderItem(images[stem], image, mask.Classes));
        }
        var testDir = Path.Combine(directory, "test");
        var tests = Directory.Exists(testDir) ? Files(testDir, ImageExtensions).Values.Order(StringComparer.Ordinal).ToList() : [];
        return new FolderDataset(Path.GetFullPath(directory), classes, channels, items.ToArray(), tests);
    }

    /// <inheritdoc/>
    protected override Tensor PrepareItem(int item, DataOptions options)
    {
        var i = _items[item];
        var classes = tensor(i.Mask, [1, i.Height, i.Width]).to(ScalarType.Int64);
        return Preprocessing.Prepare(i.Image.ToTensor(), Preprocessing.LabelChannels(classes, Classes), options);
    }

    /// <inheritdoc/>
    protected override (long Height, long Width) PreparedSize(int item, DataOptions options)
    {
        if (options.InputMode != InputMode.OverlapTile) return (options.InputSize, options.InputSize);
        long margin = (options.InputSize - options.OutputSize) / 2;
        var i = _items[item];
        return (Math.Max(i.Height, options.OutputSize) + 2 * margin, Math.Max(i.Width, options.OutputSize) + 2 * margin);
    }

    /// <summary>The files of <paramref name="directory"/> with one of <paramref name="extensions"/>, by name without extension; two files of one name are refused.</summary>
    private static Dictionary<string, string> Files(string directory, IReadOnlyList<string> extensions)
    {
        var found = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var path in Directory.EnumerateFiles(directory).Order(StringComparer.Ordinal))
        {
            if (!extensions.Contains(Path.GetExtension(path), StringComparer.OrdinalIgnoreCase)) continue;
            string stem = Path.GetFileNameWithoutExtension(path);
            if (found.TryGetValue(stem, out var other))
                throw new DataFileException(path, $"has the same name as {Path.GetFileName(other)}: one file per name");
            found[stem] = path;
        }
        return found;
    }

    /// <summary>An item in memory: the image (C×H×W) and the mask's class indices (H×W).</summary>
    private sealed record FolderItem(string ImagePath, FolderImages.Image Image, byte[] Mask)
    {
        public int Height => Image.Height;
        public int Width => Image.Width;
    }
}
