using UNet.Segmentation.Imaging.Nifti;

namespace UNet.Segmentation.Tests.Imaging.Nifti;

/// <summary>The three ways of the NIfTI-1 specification from voxel indices to world coordinates, against matrices derived by hand.</summary>
public class NiftiAffineTests
{
    private static NiftiHeader Header()
    {
        var h = new NiftiHeader();
        h.SetShape(10, 10, 10);
        return h;
    }

    private static void AssertClose(double[,] expected, double[,] actual, double tolerance = 1e-12)
    {
        for (int r = 0; r < 4; r++)
            for (int c = 0; c < 4; c++)
                Assert.True(Math.Abs(expected[r, c] - actual[r, c]) <= tolerance, $"[{r},{c}]: expected {expected[r, c]}, got {actual[r, c]}");
    }

    [Fact]
    public void Sform_IsItsThreeRows_AndWinsOverTheQform()
    {
        var h = Header();
        h.QformCode = 1;
        h.QuaternD = 1;
        double[,] sform = { { 0.8, 0.01, -0.02, -90.5 }, { 0.03, 0.9, 0.04, 120.25 }, { -0.05, 0.06, 2.5, -60 }, { 0, 0, 0, 1 } };
        h.SetSform(sform, code: 4);
        Assert.Equal(4, h.SformCode);
        Assert.Equal(sform, NiftiAffine.Best(h));
        Assert.Equal(sform, h.GetAffine());
        Assert.Equal(sform, NiftiAffine.FromSform(h));
    }

    [Fact]
    public void Qform_Rotation90AboutZ_WithVoxelSizesAndQfacMinusOne()
    {
        // b = c = 0, d = sin 45°, so a = cos 45°: R = [[0, -1, 0], [1, 0, 0], [0, 0, 1]];
        // voxel sizes (2, 3, 4) with qfac -1 scale the columns by (2, 3, -4); offsets (5, 6, 7).
        var h = Header();
        h.QformCode = 1;
        h.QuaternD = Math.Sqrt(0.5);
        double[] pixdim = [-1, 2, 3, 4];
        pixdim.CopyTo(h.PixDim, 0);
        (h.QOffsetX, h.QOffsetY, h.QOffsetZ) = (5, 6, 7);
        double[,] expected = { { 0, -3, 0, 5 }, { 2, 0, 0, 6 }, { 0, 0, -4, 7 }, { 0, 0, 0, 1 } };
        AssertClose(expected, NiftiAffine.Best(h));
        AssertClose(expected, NiftiAffine.FromQform(h));

        h.PixDim[0] = 0; // qfac 0 is read as 1
        expected[2, 2] = 4;
        AssertClose(expected, NiftiAffine.Best(h));
    }

    [Fact]
    public void Qform_180DegreesAboutX_HasAZero()
    {
        // b = 1: a = sqrt(1 - 1) = 0, the special case: R = diag(1, -1, -1).
        var h = Header();
        h.QformCode = 2;
        h.QuaternB = 1;
        double[,] expected = { { 1, 0, 0, 0 }, { 0, -1, 0, 0 }, { 0, 0, -1, 0 }, { 0, 0, 0, 1 } };
        AssertClose(expected, NiftiAffine.Best(h));

        // |(b, c, d)| slightly above 1 (rounding in a float header): normalised, a = 0
        h.QuaternB = 1.00000001;
        AssertClose(expected, NiftiAffine.Best(h), 1e-7);
    }

    [Fact]
    public void Qform_AnyRotation_MatchesRodriguesFormula()
    {
        // rotation by θ about the unit axis u: quaternion (cos θ/2, u sin θ/2); R = I cos θ + sin θ [u]× + (1 − cos θ) u uᵀ
        double theta = 1.1;
        double[] u = [1 / Math.Sqrt(14), 2 / Math.Sqrt(14), -3 / Math.Sqrt(14)];
        var h = Header();
        h.QformCode = 1;
        (h.QuaternB, h.QuaternC, h.QuaternD) = (u[0] * Math.Sin(theta / 2), u[1] * Math.Sin(theta / 2), u[2] * Math.Sin(theta / 2));
        double[] size = [0.7, 1.3, 2.1];
        size.CopyTo(h.PixDim, 1);
        (h.QOffsetX, h.QOffsetY, h.QOffsetZ) = (-1.5, 2.5, 3.5);
        double[,] cross = { { 0, -u[2], u[1] }, { u[2], 0, -u[0] }, { -u[1], u[0], 0 } };
        var expected = new double[4, 4];
        for (int r = 0; r < 3; r++)
            for (int c = 0; c < 3; c++)
                expected[r, c] = ((r == c ? Math.Cos(theta) : 0) + Math.Sin(theta) * cross[r, c] + (1 - Math.Cos(theta)) * u[r] * u[c]) * size[c];
        (expected[0, 3], expected[1, 3], expected[2, 3], expected[3, 3]) = (-1.5, 2.5, 3.5, 1);
        AssertClose(expected, NiftiAffine.Best(h));
    }

    [Fact]
    public void Qform_NonPositiveVoxelSizes_CountAsOne()
    {
        var h = Header();
        h.QformCode = 1;
        double[] pixdim = [1, 0, -2, double.NaN];
        pixdim.CopyTo(h.PixDim, 0);
        AssertClose(new double[,] { { 1, 0, 0, 0 }, { 0, 1, 0, 0 }, { 0, 0, 1, 0 }, { 0, 0, 0, 1 } }, NiftiAffine.Best(h));
    }

    [Fact]
    public void NeitherCode_GivesThePixdimScaling()
    {
        var h = Header();
        double[] pixdim = [1, 0.7, 0.8, 2.2];
        pixdim.CopyTo(h.PixDim, 0);
        h.QuaternD = 1; // ignored: both codes are 0
        h.SRowX[3] = 100;
        Assert.Equal(new double[,] { { 0.7, 0, 0, 0 }, { 0, 0.8, 0, 0 }, { 0, 0, 2.2, 0 }, { 0, 0, 0, 1 } }, NiftiAffine.Best(h));

        pixdim = [1, 0, double.NaN, -3]; // 0 and non-finite sizes count as 1; a negative one is kept (as nifti1_io does)
        pixdim.CopyTo(h.PixDim, 0);
        Assert.Equal(new double[,] { { 1, 0, 0, 0 }, { 0, 1, 0, 0 }, { 0, 0, -3, 0 }, { 0, 0, 0, 1 } }, NiftiAffine.Best(h));
    }

    [Fact]
    public void NegativeCodes_CountAsUnset()
    {
        var h = Header();
        h.SformCode = -1;
        h.QformCode = -2;
        h.SRowX[0] = 9;
        h.QuaternD = 1;
        Assert.Equal(NiftiAffine.FromPixDim(h), NiftiAffine.Best(h));
    }
}
