using UNet.Segmentation.Data;
using UNet.Segmentation.Imaging;
using TorchSharp;
using static TorchSharp.torch;
using UNet.Segmentation.Runtime;

namespace UNet.Segmentation.Visualization;

/// <summary>Training batches and [−1, 1] image tensors as 8-bit pixels and PNG files (blending: <see cref="Overlays"/>).</summary>
public static class BatchPictures
{
    // Held, not temporaries per picture (see Training/Losses.cs, Two); the same number kinds as before.
    private static readonly Scalar One = 1.0.ToScalar(), HalfByte = 127.5.ToScalar(), Zero = 0.ToScalar(), Top = 255.ToScalar(), TopLong = 255L.ToScalar();

    /// <summary>A [−1, 1] image plane (H×W, any leading size-1 dimensions) as 8-bit grey: (x + 1)·127.5.</summary>
    public static byte[] ImageToGray(Tensor image)
    {
        ArgumentNullException.ThrowIfNull(image);
        using var scope = NewDisposeScope();
        var bytes = image.Plus(One).mul(HalfByte).round().clamp(Zero, Top).to(ScalarType.Byte).contiguous();
        return bytes.data<byte>().ToArray();
    }

    /// <summary>A class-index plane as 8-bit grey in the files' convention: class 0 (membrane) → 0, class 1 (interior) → 255.</summary>
    public static byte[] ClassesToGray(Tensor classes)
    {
        ArgumentNullException.ThrowIfNull(classes);
        using var scope = NewDisposeScope();
        return classes.gt(Zero).to(ScalarType.Byte).mul(TopLong).contiguous().data<byte>().ToArray();
    }

    /// <summary>
    /// Writes each sample of a batch as three PNGs: <c>{prefix}-{i}-image.png</c> (the network
    /// input), <c>{prefix}-{i}-label.png</c> (0 membrane, 255 interior) and
    /// <c>{prefix}-{i}-overlay.png</c> (the input's centre, where the label lies, with membranes
    /// tinted). Returns the paths written.
    /// </summary>
    public static IReadOnlyList<string> WriteBatch(Batch batch, string directory, string prefix)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        Directory.CreateDirectory(directory);
        var written = new List<string>();
        using var scope = NewDisposeScope();
        long n = batch.Images.shape[0], size = batch.Images.shape[2], outSize = batch.Classes.shape[1];
        long offset = (size - outSize) / 2;
        for (long i = 0; i < n; i++)
        {
            var image = batch.Images.select(0, i).select(0, 0);
            var classes = batch.Classes.select(0, i);
            string Path(string kind) => System.IO.Path.Combine(directory, $"{prefix}-{i}-{kind}.png");
            Png.WriteGray(Path("image"), ImageToGray(image), (int)size, (int)size);
            var labelGray = ClassesToGray(classes);
            Png.WriteGray(Path("label"), labelGray, (int)outSize, (int)outSize);
            var centre = ImageToGray(image.narrow(0, offset, outSize).narrow(1, offset, outSize));
            Png.WriteRgb(Path("overlay"), Overlays.Blend(centre, labelGray), (int)outSize, (int)outSize);
            written.AddRange([Path("image"), Path("label"), Path("overlay")]);
        }
        return written;
    }
}
