using BitMiracle.LibTiff.Classic;
using LibTiff = BitMiracle.LibTiff.Classic.Tiff;

namespace UNet.Segmentation.Imaging;

/// <summary>
/// Writes a <see cref="TiffVolume"/> through LibTiff.NET as a little-endian classic TIFF: one
/// directory per page, greyscale (BlackIsZero), strips of about 64 KiB of samples, no predictor.
/// </summary>
/// <remarks>
/// Little-endian always: LibTiff.NET 2.4.660 stores big-endian float samples with floating-point
/// differencing (Predictor 3) wrongly, and the other combinations gain nothing from big-endian.
/// </remarks>
internal static class TiffWriter
{
    private const int StripTargetBytes = 64 * 1024;

    public static void Write(Stream stream, TiffVolume volume, TiffCompression compression, string name)
    {
        int bytesPerSample = volume.BytesPerSample, rowBytes = volume.Width * bytesPerSample;
        int rowsPerStrip = Math.Clamp(StripTargetBytes / rowBytes, 1, volume.Height);
        int strips = (volume.Height + rowsPerStrip - 1) / rowsPerStrip;
        long start = stream.Position;
        var buffer = new byte[rowsPerStrip * rowBytes];
        var window = WindowTiffStream.ForWriting(stream);
        using var scope = LibTiffSupport.Enter();
        LibTiff? tiff = null;
        try
        {
            tiff = LibTiff.ClientOpen(name, "w", stream, window)
                ?? throw new InvalidOperationException($"LibTiff.NET could not start writing '{name}'");
            bool multiPage = volume.PageCount > 1;
            for (int p = 0; p < volume.PageCount; p++)
            {
                tiff.SetField(TiffTag.IMAGEWIDTH, volume.Width);
                tiff.SetField(TiffTag.IMAGELENGTH, volume.Height);
                tiff.SetField(TiffTag.BITSPERSAMPLE, bytesPerSample * 8);
                tiff.SetField(TiffTag.SAMPLESPERPIXEL, 1);
                tiff.SetField(TiffTag.SAMPLEFORMAT, volume.SampleFormat == TiffSampleFormat.Float32 ? SampleFormat.IEEEFP : SampleFormat.UINT);
                tiff.SetField(TiffTag.PHOTOMETRIC, Photometric.MINISBLACK);
                tiff.SetField(TiffTag.PLANARCONFIG, PlanarConfig.CONTIG);
                tiff.SetField(TiffTag.COMPRESSION, Code(compression));
                tiff.SetField(TiffTag.ROWSPERSTRIP, rowsPerStrip);
                if (multiPage)
                {
                    tiff.SetField(TiffTag.SUBFILETYPE, FileType.PAGE); // one page of a multi-page image
                    if (volume.PageCount <= ushort.MaxValue) tiff.SetField(TiffTag.PAGENUMBER, p, volume.PageCount);
                }
                var page = volume.PageBytes(p);
                for (int s = 0; s < strips; s++)
                {
                    int bytes = Math.Min(rowsPerStrip, volume.Height - s * rowsPerStrip) * rowBytes;
                    page.Slice(s * rowsPerStrip * rowBytes, bytes).CopyTo(buffer); // LibTiff.NET may encode in place
                    if (tiff.WriteEncodedStrip(s, buffer, bytes) < 0)
                        throw new InvalidOperationException($"LibTiff.NET could not write strip {s} of page {p + 1} of '{name}'");
                }
                if (!tiff.WriteDirectory())
                    throw new InvalidOperationException($"LibTiff.NET could not write the directory of page {p + 1} of '{name}'");
            }
            tiff.Dispose();
            tiff = null;
        }
        catch (LibTiffException e)
        {
            throw new InvalidOperationException($"LibTiff.NET could not write '{name}': {e.Message}", e);
        }
        finally
        {
            if (tiff is not null) DisposeAfterFailure(tiff);
        }
        stream.Position = start + window.Length;
        // LibTiff.NET turns a file past 4 GiB into a BigTIFF, which this library does not read.
        if (window.Length > uint.MaxValue)
            throw new InvalidOperationException($"'{name}' grew past classic TIFF's 4 GiB; write fewer pages per file");
    }

    private static void DisposeAfterFailure(LibTiff tiff)
    {
        try
        {
            tiff.Dispose();
        }
        catch (Exception)
        {
            // closing flushes what was pending; the error already on its way out matters more
        }
    }

    private static Compression Code(TiffCompression compression) => compression switch
    {
        TiffCompression.None => Compression.NONE,
        TiffCompression.PackBits => Compression.PACKBITS,
        TiffCompression.Lzw => Compression.LZW,
        TiffCompression.Deflate => Compression.ADOBE_DEFLATE,
        _ => throw new ArgumentOutOfRangeException(nameof(compression), compression, "unknown compression"),
    };
}
