namespace UNet.Segmentation.Imaging;

/// <summary>
/// Writes a <see cref="TiffVolume"/> through LibTiff.NET as a little-endian classic TIFF: one
/// directory per page, greyscale (BlackIsZero), strips of about 64 KiB of samples, no predictor
/// (page by page through <see cref="TiffPageWriter"/>).
/// </summary>
/// <remarks>
/// Little-endian always: LibTiff.NET 2.4.660 stores big-endian float samples with floating-point
/// differencing (Predictor 3) wrongly, and the other combinations gain nothing from big-endian.
/// </remarks>
internal static class TiffWriter
{
    public static void Write(Stream stream, TiffVolume volume, TiffCompression compression, string name)
    {
        using var writer = new TiffPageWriter(stream, name, volume.PageCount, volume.Height, volume.Width, volume.SampleFormat, compression);
        for (int p = 0; p < volume.PageCount; p++) writer.WritePage(volume.PageBytes(p));
        writer.Finish();
        // LibTiff.NET turns a file past 4 GiB into a BigTIFF, which this library's whole-file reader does not read.
    }
}
