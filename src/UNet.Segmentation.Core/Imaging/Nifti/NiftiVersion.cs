namespace UNet.Segmentation.Imaging.Nifti;

/// <summary>Which NIfTI header a file has.</summary>
public enum NiftiVersion
{
    /// <summary>NIfTI-1: a 348-byte header, magic <c>n+1\0</c>, 16-bit dimensions and 32-bit floats.</summary>
    Nifti1 = 1,

    /// <summary>NIfTI-2: a 540-byte header, magic <c>n+2\0\r\n\x1A\n</c>, 64-bit dimensions and 64-bit floats.</summary>
    Nifti2 = 2,
}
