namespace UNet.Segmentation.Imaging.Nifti;

/// <summary>
/// The voxel-to-world affine of a NIfTI header, as a 4×4 matrix <c>A</c> with
/// <c>(x, y, z, 1) = A · (i, j, k, 1)</c> for the voxel at index (i, j, k) (zero-based, i along
/// the first dimension). The three methods of the NIfTI-1 specification, computed as its reference
/// library nifti1_io does:
/// </summary>
/// <remarks>
/// <see cref="Best"/> takes the sform when <c>sform_code &gt; 0</c>, else the qform when
/// <c>qform_code &gt; 0</c>, else the pixdim scaling (the specification's method 1). nibabel
/// differs only in the last case: its fallback centres the volume on the origin.
/// </remarks>
public static class NiftiAffine
{
    /// <summary>The affine the header asks for: sform, else qform, else pixdim scaling (see <see cref="NiftiAffine"/>).</summary>
    /// <param name="header">The header.</param>
    public static double[,] Best(NiftiHeader header)
    {
        ArgumentNullException.ThrowIfNull(header);
        if (header.SformCode > 0) return FromSform(header);
        if (header.QformCode > 0) return FromQform(header);
        return FromPixDim(header);
    }

    /// <summary>Method 3: the rows <c>srow_x</c>, <c>srow_y</c>, <c>srow_z</c> and (0, 0, 0, 1), whatever <c>sform_code</c> says.</summary>
    /// <param name="header">The header.</param>
    public static double[,] FromSform(NiftiHeader header)
    {
        ArgumentNullException.ThrowIfNull(header);
        var a = Identity();
        for (int c = 0; c < 4; c++)
        {
            a[0, c] = header.SRowX[c];
            a[1, c] = header.SRowY[c];
            a[2, c] = header.SRowZ[c];
        }
        return a;
    }

    /// <summary>
    /// Method 2, whatever <c>qform_code</c> says: the rotation of the unit quaternion (a, b, c, d)
    /// with <c>a = sqrt(1 − b² − c² − d²)</c> (b, c, d normalised and a = 0 when that is below
    /// 1e-7), times the voxel size <c>pixdim[1..3]</c> (a size ≤ 0 or not finite counts as 1) with
    /// the z column multiplied by qfac (−1 when <c>pixdim[0] &lt; 0</c>, else 1), shifted by
    /// <c>qoffset_x/y/z</c>.
    /// </summary>
    /// <param name="header">The header.</param>
    public static double[,] FromQform(NiftiHeader header)
    {
        ArgumentNullException.ThrowIfNull(header);
        double b = header.QuaternB, c = header.QuaternC, d = header.QuaternD;
        double a = 1 - (b * b + c * c + d * d);
        if (a < 1e-7)
        {
            double norm = Math.Sqrt(b * b + c * c + d * d);
            if (norm > 0)
            {
                b /= norm;
                c /= norm;
                d /= norm;
            }
            a = 0;
        }
        else
        {
            a = Math.Sqrt(a);
        }
        double[,] r =
        {
            { a * a + b * b - c * c - d * d, 2 * b * c - 2 * a * d, 2 * b * d + 2 * a * c },
            { 2 * b * c + 2 * a * d, a * a + c * c - b * b - d * d, 2 * c * d - 2 * a * b },
            { 2 * b * d - 2 * a * c, 2 * c * d + 2 * a * b, a * a + d * d - c * c - b * b },
        };
        double qfac = header.PixDim[0] < 0 ? -1 : 1;
        double[] size = [Positive(header.PixDim[1]), Positive(header.PixDim[2]), qfac * Positive(header.PixDim[3])];
        var m = Identity();
        for (int row = 0; row < 3; row++)
            for (int col = 0; col < 3; col++)
                m[row, col] = r[row, col] * size[col];
        m[0, 3] = header.QOffsetX;
        m[1, 3] = header.QOffsetY;
        m[2, 3] = header.QOffsetZ;
        return m;
    }

    /// <summary>
    /// Method 1 (for ANALYZE 7.5 headers, both codes 0): the diagonal of <c>pixdim[1..3]</c> (a size
    /// of 0 or not finite counts as 1), no rotation, no shift.
    /// </summary>
    /// <param name="header">The header.</param>
    public static double[,] FromPixDim(NiftiHeader header)
    {
        ArgumentNullException.ThrowIfNull(header);
        var m = Identity();
        for (int i = 0; i < 3; i++)
        {
            double size = header.PixDim[i + 1];
            m[i, i] = size == 0 || !double.IsFinite(size) ? 1 : size;
        }
        return m;
    }

    private static double Positive(double size) => size > 0 && double.IsFinite(size) ? size : 1;

    private static double[,] Identity()
    {
        var m = new double[4, 4];
        for (int i = 0; i < 4; i++) m[i, i] = 1;
        return m;
    }
}
