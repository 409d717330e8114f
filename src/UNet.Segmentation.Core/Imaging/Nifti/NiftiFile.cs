using System.IO.Compression;

namespace UNet.Segmentation.Imaging.Nifti;

/// <summary>
/// Reads and writes NIfTI-1 and NIfTI-2 images, the volumes of MRI and CT: single-file
/// <c>.nii</c>, plain or gzipped (<c>.nii.gz</c>), of 1 to 4 dimensions (x, y, z and time or
/// channels) and the voxel types of <see cref="NiftiDataType"/>. Our own code after the NIfTI-1
/// and NIfTI-2 specifications; nibabel is its test oracle.
/// </summary>
/// <remarks>
/// <para>Reading: either byte order (from <c>sizeof_hdr</c>); gzip recognised by its magic bytes,
/// not by the name; NIfTI-1 extensions skipped (the voxels start at <c>vox_offset</c>); the voxel
/// size follows <c>datatype</c> (<c>bitpix</c> is not trusted, as nibabel does not).
/// .hdr/.img pairs, ANALYZE 7.5, complex and RGB voxels and more than 4 dimensions are refused
/// with a <see cref="NiftiFormatException"/> naming the file and the problem, as is every damaged,
/// truncated or forged file; sizes are checked before voxels are allocated.</para>
/// <para>Writing: little-endian, in the header's <see cref="NiftiHeader.Version"/>, with
/// <c>vox_offset</c> 352 (NIfTI-1) or 544 (NIfTI-2) after a zero extender (no extensions),
/// gzipped when the path ends in <c>.gz</c>, atomically (a temporary file beside the target,
/// flushed and renamed over it, so a failure leaves an existing file as it was). A header read
/// and written in the same version keeps every field but <c>sizeof_hdr</c>, <c>magic</c>,
/// <c>vox_offset</c>, <c>datatype</c> and <c>bitpix</c>.</para>
/// </remarks>
public static class NiftiFile
{
    /// <summary>Reads the image at <paramref name="path"/> (<c>.nii</c> or <c>.nii.gz</c>).</summary>
    /// <param name="path">The file.</param>
    /// <exception cref="NiftiFormatException">The file is damaged, truncated, not NIfTI or unsupported.</exception>
    public static NiftiImage Read(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var (header, data) = NiftiReader.Read(path, readData: true);
        return new NiftiImage(header, data!);
    }

    /// <summary>Reads an image from <paramref name="stream"/>, from its position on (plain or gzipped).</summary>
    /// <param name="stream">The image's bytes. When it cannot seek, the voxels are gathered as they arrive and a gzip stream's trailer is not checked.</param>
    /// <param name="name">A name for the data, used in error messages.</param>
    /// <exception cref="NiftiFormatException">The data is damaged, truncated, not NIfTI or unsupported.</exception>
    public static NiftiImage Read(Stream stream, string name)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(name);
        var (header, data) = NiftiReader.Read(stream, name, readData: true);
        return new NiftiImage(header, data!);
    }

    /// <summary>Reads only the header of the image at <paramref name="path"/> (checked as <see cref="Read(string)"/> checks it, the voxels not read).</summary>
    /// <param name="path">The file.</param>
    /// <exception cref="NiftiFormatException">The header is damaged, not NIfTI or unsupported.</exception>
    public static NiftiHeader ReadHeader(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        return NiftiReader.Read(path, readData: false).Header;
    }

    /// <summary>Reads only the header of an image from <paramref name="stream"/>.</summary>
    /// <param name="stream">The image's bytes, from its position on.</param>
    /// <param name="name">A name for the data, used in error messages.</param>
    /// <exception cref="NiftiFormatException">The header is damaged, not NIfTI or unsupported.</exception>
    public static NiftiHeader ReadHeader(Stream stream, string name)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(name);
        return NiftiReader.Read(stream, name, readData: false).Header;
    }

    /// <summary>
    /// Writes <paramref name="image"/> to <paramref name="path"/> atomically, in its header's
    /// version, gzipped when the path ends in <c>.gz</c> (any case).
    /// </summary>
    /// <param name="path">The file to create or replace.</param>
    /// <param name="image">The image.</param>
    /// <exception cref="ArgumentException">The header's dimensions do not match the voxels, or a field does not fit NIfTI-1.</exception>
    public static void Write(string path, NiftiImage image)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        byte[] header = NiftiWriter.Header(image);
        using var file = AtomicFile.Begin(path);
        if (path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase))
        {
            using var gzip = new GZipStream(file.Stream, CompressionLevel.Optimal, leaveOpen: true);
            NiftiWriter.Write(gzip, image, header);
        }
        else
        {
            NiftiWriter.Write(file.Stream, image, header);
        }
        file.Commit();
    }

    /// <summary>Writes <paramref name="image"/> to <paramref name="stream"/> in its header's version.</summary>
    /// <param name="stream">Where to write, from its position on; left open.</param>
    /// <param name="image">The image.</param>
    /// <param name="gzip">True to gzip it (as a <c>.nii.gz</c>).</param>
    /// <exception cref="ArgumentException">The header's dimensions do not match the voxels, or a field does not fit NIfTI-1.</exception>
    public static void Write(Stream stream, NiftiImage image, bool gzip = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        byte[] header = NiftiWriter.Header(image);
        if (!gzip)
        {
            NiftiWriter.Write(stream, image, header);
            return;
        }
        using var compressed = new GZipStream(stream, CompressionLevel.Optimal, leaveOpen: true);
        NiftiWriter.Write(compressed, image, header);
    }
}
