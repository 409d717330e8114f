using UNet.Segmentation.Imaging.Nifti;

namespace UNet.Segmentation.Data.Msd;

/// <summary>A case as read from its files: channels-first image, label map, voxel spacing.</summary>
/// <param name="Id">The case id.</param>
/// <param name="Image">The image, C×D×H×W float32 (NIfTI's scaled values, as nibabel's <c>get_fdata()</c> cast to float32).</param>
/// <param name="Labels">The label map, 1×D×H×W class indices; null for a test case.</param>
/// <param name="Spacing">The voxel size (z, y, x) in mm, from <c>pixdim[3], pixdim[2], pixdim[1]</c> as the reference reads it.</param>
public sealed record MsdCaseData(string Id, Volume<float> Image, Volume<byte>? Labels, double[] Spacing);

/// <summary>
/// Reads the files of an <see cref="MsdCase"/> through <see cref="NiftiFile"/> and checks them
/// against the task: the image 3-D, or 4-D with one volume per modality; the label map 3-D, of the
/// image's spatial shape and geometry (affine), holding only whole numbers among the task's
/// classes. Every problem is an <see cref="MsdDataException"/> naming the file.
/// </summary>
public static class MsdCaseReader
{
    /// <summary>Relative tolerance of the image/label affine comparison.</summary>
    public const double AffineTolerance = 1e-4;

    /// <summary>Reads and checks <paramref name="item"/>.</summary>
    /// <param name="task">The task it belongs to (modalities, classes).</param>
    /// <param name="item">The case.</param>
    /// <exception cref="MsdDataException">A file is missing, damaged or does not fit the task.</exception>
    public static MsdCaseData Read(MsdTask task, MsdCase item)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(item);
        var image = ReadNifti(item.ImagePath);
        var (shape, channels) = ImageShape(item.ImagePath, image, task.Modalities.Count);
        var spacing = Spacing(item.ImagePath, image.Header);
        var volume = new Volume<float>(image.ToScaledFloat32(), channels, shape);
        Volume<byte>? labels = null;
        if (item.LabelPath is not null)
        {
            var label = ReadNifti(item.LabelPath);
            int[] ls = label.Shape;
            bool threeD = ls.Length == 3 || (ls.Length == 4 && ls[3] == 1);
            if (!threeD || new Shape3D(ls[2], ls[1], ls[0]) != shape)
                throw new MsdDataException(item.LabelPath, null, $"the label map's shape ({string.Join(", ", ls)}) does not match its image's ({shape.Width}, {shape.Height}, {shape.Depth}) ({item.ImagePath})");
            CheckAffine(item, image.GetAffine(), label.GetAffine());
            labels = new Volume<byte>(Classes(item.LabelPath, label, task.Labels.Count), 1, shape);
        }
        return new MsdCaseData(item.Id, volume, labels, spacing);
    }

    /// <summary>Reads only the voxel spacing (z, y, x) of an image, from its header.</summary>
    /// <exception cref="MsdDataException">The file is missing or its header is damaged.</exception>
    public static double[] ReadSpacing(string imagePath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(imagePath);
        if (!File.Exists(imagePath)) throw new MsdDataException(imagePath, null, "not found");
        try
        {
            return Spacing(imagePath, NiftiFile.ReadHeader(imagePath));
        }
        catch (NiftiFormatException e)
        {
            throw new MsdDataException(imagePath, null, $"not a usable NIfTI file: {e.Problem}", e);
        }
    }

    private static NiftiImage ReadNifti(string path)
    {
        if (!File.Exists(path)) throw new MsdDataException(path, null, "not found");
        try
        {
            return NiftiFile.Read(path);
        }
        catch (NiftiFormatException e)
        {
            throw new MsdDataException(path, null, $"not a usable NIfTI file: {e.Problem}", e);
        }
        catch (InvalidDataException e)
        {
            throw new MsdDataException(path, null, $"damaged: {e.Message}", e);
        }
    }

    private static (Shape3D Shape, int Channels) ImageShape(string path, NiftiImage image, int modalities)
    {
        int[] s = image.Shape;
        int channels = s.Length == 4 ? s[3] : 1;
        if (s.Length is not (3 or 4))
            throw new MsdDataException(path, null, $"an MSD image is 3-D, or 4-D with the modalities last, not of shape ({string.Join(", ", s)})");
        if (channels != modalities)
            throw new MsdDataException(path, null, $"holds {channels} volume(s) but dataset.json names {modalities} modalit{(modalities == 1 ? "y" : "ies")}");
        return (new Shape3D(s[2], s[1], s[0]), channels);
    }

    private static double[] Spacing(string path, NiftiHeader header)
    {
        double[] spacing = [header.PixDim[3], header.PixDim[2], header.PixDim[1]];
        if (spacing.Any(v => !double.IsFinite(v) || v <= 0))
            throw new MsdDataException(path, null, $"the voxel size (pixdim[1..3] = {header.PixDim[1]}, {header.PixDim[2]}, {header.PixDim[3]}) must be finite and positive");
        return spacing;
    }

    private static void CheckAffine(MsdCase item, double[,] image, double[,] label)
    {
        for (int r = 0; r < 3; r++)
            for (int c = 0; c < 4; c++)
                if (Math.Abs(image[r, c] - label[r, c]) > AffineTolerance * Math.Max(1, Math.Max(Math.Abs(image[r, c]), Math.Abs(label[r, c]))))
                    throw new MsdDataException(item.LabelPath!, null,
                        $"the label map's voxel-to-world affine differs from its image's at row {r}, column {c} ({label[r, c]} vs {image[r, c]}; {item.ImagePath})");
    }

    private static byte[] Classes(string path, NiftiImage label, int classes)
    {
        double[] values = label.ToScaledFloat64();
        var result = new byte[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            double v = values[i];
            if (v != Math.Floor(v) || v < 0 || v >= classes)
            {
                int[] s = label.Shape;
                int x = i % s[0], y = i / s[0] % s[1], z = i / (s[0] * s[1]);
                throw new MsdDataException(path, null,
                    $"label value {v} at voxel (x, y, z) = ({x}, {y}, {z}) is not one of the task's classes 0 … {classes - 1} (dataset.json labels)");
            }
            result[i] = (byte)v;
        }
        return result;
    }
}
