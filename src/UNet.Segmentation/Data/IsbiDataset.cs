using UNet.Segmentation.Imaging;

namespace UNet.Segmentation.Data;

/// <summary>File names of an ISBI-style data folder.</summary>
/// <param name="TrainVolume">Multi-page 8-bit training images.</param>
/// <param name="TrainLabels">Multi-page 8-bit labels, one page per training image: 0 = membrane, 255 = interior.</param>
/// <param name="TestVolume">Multi-page 8-bit test images (optional: absent means no test set).</param>
public sealed record IsbiFileNames(string TrainVolume = "train-volume.tif", string TrainLabels = "train-labels.tif", string TestVolume = "test-volume.tif");

/// <summary>
/// The ISBI 2012 EM data (or any data in its form) in memory: training slices with binary labels
/// and optional test slices, all the same size. Label convention: in the files 0 is membrane and
/// 255 interior; the model learns class 0 = membrane, class 1 = interior (one-hot channel 0 =
/// membrane), as the reference.
/// </summary>
public sealed partial class IsbiDataset : SegmentationData
{
    private readonly byte[] _trainImages;
    private readonly byte[] _trainLabels;
    private readonly byte[]? _testImages;

    private IsbiDataset(string source, int slices, int testSlices, int height, int width, byte[] trainImages, byte[] trainLabels, byte[]? testImages)
    {
        Source = source;
        TrainSlices = slices;
        TestSlices = testSlices;
        Height = height;
        Width = width;
        _trainImages = trainImages;
        _trainLabels = trainLabels;
        _testImages = testImages;
    }

    /// <summary>Where the data came from: the folder, or "synthetic (seed N)".</summary>
    public override string Source { get; }

    /// <summary>The training slices: <see cref="TrainSlices"/>.</summary>
    public override int Count => TrainSlices;

    /// <summary>1: the EM slices are grey.</summary>
    public override int ImageChannels => 1;

    /// <summary>2: membrane (0) and interior (1).</summary>
    public override int Classes => 2;

    /// <summary>Number of training slices.</summary>
    public int TrainSlices { get; }
    /// <summary>Number of test slices (0 when there is no test volume).</summary>
    public int TestSlices { get; }
    /// <summary>Slice height in pixels.</summary>
    public int Height { get; }
    /// <summary>Slice width in pixels.</summary>
    public int Width { get; }

    /// <summary>Training images, slice-major, row-major.</summary>
    public ReadOnlyMemory<byte> TrainImages => _trainImages;
    /// <summary>Training labels (0 membrane, 255 interior), slice-major, row-major.</summary>
    public ReadOnlyMemory<byte> TrainLabels => _trainLabels;
    /// <summary>Test images, or empty.</summary>
    public ReadOnlyMemory<byte> TestImages => _testImages ?? [];

    /// <summary>Loads a folder; every check names the file at fault (<see cref="IsbiDataException"/>).</summary>
    public static IsbiDataset Load(string directory, IsbiFileNames? names = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        if (!Directory.Exists(directory)) throw new DirectoryNotFoundException($"the data folder {directory} does not exist");
        names ??= new IsbiFileNames();
        string volumePath = Path.Combine(directory, names.TrainVolume);
        string labelPath = Path.Combine(directory, names.TrainLabels);
        string testPath = Path.Combine(directory, names.TestVolume);
        var volume = ReadUInt8(volumePath);
        var labels = ReadUInt8(labelPath);
        if (labels.PageCount != volume.PageCount)
            throw new IsbiDataException(labelPath, $"has {labels.PageCount} pages but {names.TrainVolume} has {volume.PageCount}");
        if (labels.Height != volume.Height || labels.Width != volume.Width)
            throw new IsbiDataException(labelPath, $"pages are {labels.Width}x{labels.Height} but {names.TrainVolume}'s are {volume.Width}x{volume.Height}");
        var labelBytes = labels.GetUInt8();
        int bad = labelBytes.AsSpan().IndexOfAnyExcept((byte)0, (byte)255);
        if (bad >= 0)
        {
            int page = bad / (labels.Height * labels.Width), offset = bad % (labels.Height * labels.Width);
            throw new IsbiDataException(labelPath, $"labels must be binary (0 = membrane, 255 = interior); page {page} has {labelBytes[bad]} at x={offset % labels.Width}, y={offset / labels.Width}");
        }
        TiffVolume? test = null;
        if (File.Exists(testPath))
        {
            test = ReadUInt8(testPath);
            if (test.Height != volume.Height || test.Width != volume.Width)
                throw new IsbiDataException(testPath, $"pages are {test.Width}x{test.Height} but {names.TrainVolume}'s are {volume.Width}x{volume.Height}");
        }
        return new IsbiDataset(Path.GetFullPath(directory), volume.PageCount, test?.PageCount ?? 0, volume.Height, volume.Width,
            volume.GetUInt8(), labelBytes, test?.GetUInt8());
    }

    /// <summary>A synthetic EM-like dataset with the same form (cells as a Voronoi tiling, dark membranes): the default when no data is given.</summary>
    public static IsbiDataset Synthetic(SyntheticEmOptions? options = null)
    {
        options ??= new SyntheticEmOptions();
        var (images, labels) = SyntheticEm.Generate(options);
        var (test, _) = SyntheticEm.Generate(options with { Seed = options.Seed + 1 });
        return new IsbiDataset($"synthetic (seed {options.Seed})", options.Slices, options.Slices, options.Size, options.Size, images, labels, test);
    }

    /// <summary>The folder's data when <paramref name="directory"/> is given, else the synthetic dataset.</summary>
    public static IsbiDataset LoadOrSynthetic(string? directory, SyntheticEmOptions? synthetic = null) =>
        string.IsNullOrWhiteSpace(directory) ? Synthetic(synthetic) : Load(directory);

    /// <summary>Mean grey value of the training images and the share of membrane (label 0) pixels.</summary>
    public (double TrainMean, double MembraneShare) Statistics()
    {
        long sum = 0;
        foreach (byte b in _trainImages) sum += b;
        long membrane = _trainLabels.AsSpan().Count((byte)0);
        return ((double)sum / _trainImages.Length, (double)membrane / _trainLabels.Length);
    }

    private static TiffVolume ReadUInt8(string path)
    {
        if (!File.Exists(path)) throw new IsbiDataException(path, "file not found");
        TiffVolume volume;
        try
        {
            volume = Tiff.Read(path);
        }
        catch (TiffFormatException e)
        {
            throw new IsbiDataException(path, e.Message, e);
        }
        if (volume.SampleFormat != TiffSampleFormat.UInt8)
            throw new IsbiDataException(path, $"pages must be 8-bit greyscale, found {volume.SampleFormat}");
        return volume;
    }
}
