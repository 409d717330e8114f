using System.Text;

namespace UNet.Segmentation.Imaging.Nifti;

/// <summary>
/// Every field of a NIfTI-1 or NIfTI-2 header, in the wider NIfTI-2 types (64-bit dimensions,
/// double precision), so that a header read and written again in the same version keeps every
/// field bit for bit, except those the writer must set: <c>sizeof_hdr</c>, <c>magic</c>,
/// <c>vox_offset</c> (352 for NIfTI-1, 544 for NIfTI-2, extensions not kept), <c>datatype</c> and
/// <c>bitpix</c> (from the voxels' type). Field names follow the specification's, in .NET casing
/// (<c>scl_slope</c> is <see cref="SclSlope"/>).
/// </summary>
/// <remarks>
/// The arrays (<see cref="Dim"/>, <see cref="PixDim"/>, <see cref="SRowX"/>…) have the
/// specification's fixed lengths and may be changed in place. The text fields are kept as the
/// bytes stored; the string properties read them up to the first NUL (as Latin-1) and replace them
/// when set. Writing NIfTI-1 narrows doubles to floats and refuses integers out of its 16-bit range.
/// </remarks>
public sealed class NiftiHeader
{
    /// <summary>Size of a NIfTI-1 header in bytes (<c>sizeof_hdr</c>).</summary>
    public const int Nifti1HeaderSize = 348;

    /// <summary>Size of a NIfTI-2 header in bytes (<c>sizeof_hdr</c>).</summary>
    public const int Nifti2HeaderSize = 540;

    internal byte[] DescriptionBytes { get; private set; } = new byte[80];

    internal byte[] AuxFileBytes { get; private set; } = new byte[24];

    internal byte[] IntentNameBytes { get; private set; } = new byte[16];

    internal byte[] DataTypeNameBytes { get; private set; } = new byte[10];

    internal byte[] DbNameBytes { get; private set; } = new byte[18];

    /// <summary>NIfTI-2's <c>unused_str</c>, kept for the round trip.</summary>
    internal byte[] UnusedBytes { get; private set; } = new byte[15];

    /// <summary>The header's version; a file is written in it.</summary>
    public NiftiVersion Version { get; set; } = NiftiVersion.Nifti1;

    /// <summary>
    /// The voxels' type (<c>datatype</c>; <c>bitpix</c> follows from it). Set by the
    /// <see cref="NiftiImage"/> that holds the header, from its array's element type.
    /// </summary>
    public NiftiDataType DataType { get; internal set; } = NiftiDataType.UInt8;

    /// <summary>Bits per voxel (<c>bitpix</c>), as the writer stores it.</summary>
    public int BitsPerVoxel => 8 * NiftiDataTypes.Size(DataType);

    /// <summary>
    /// <c>dim</c>: <c>Dim[0]</c> is the number of dimensions (1 to 4 here), <c>Dim[1..Dim[0]]</c>
    /// their sizes x, y, z, t; the entries past <c>Dim[0]</c> are kept but mean nothing.
    /// </summary>
    public long[] Dim { get; private set; } = new long[8];

    /// <summary>
    /// <c>pixdim</c>: <c>PixDim[1..3]</c> the voxel size along x, y, z (in <see cref="XyztUnits"/>),
    /// <c>PixDim[4]</c> the time step; <c>PixDim[0]</c> is qfac, the sign of the quaternion
    /// method's z axis (−1 or 1; 0 is read as 1).
    /// </summary>
    public double[] PixDim { get; private set; } = [1, 1, 1, 1, 1, 1, 1, 1];

    /// <summary>Where the voxels began in the file read (<c>vox_offset</c>); 0 for a header not read from a file. Not written: the writer sets it.</summary>
    public long VoxOffset { get; internal set; }

    /// <summary>True when the file read was big-endian (files are always written little-endian).</summary>
    public bool WasBigEndian { get; internal set; }

    /// <summary><c>scl_slope</c>: a stored value v means <c>v * SclSlope + SclInter</c>; 0 or a non-finite slope means no scaling.</summary>
    public double SclSlope { get; set; } = 1;

    /// <summary><c>scl_inter</c>: the offset of the scaling (a non-finite one counts as 0).</summary>
    public double SclInter { get; set; }

    /// <summary><c>intent_code</c>: what the values mean (0 none, 1002 labels, …).</summary>
    public int IntentCode { get; set; }

    /// <summary><c>intent_p1</c>: the intent's first parameter.</summary>
    public double IntentP1 { get; set; }

    /// <summary><c>intent_p2</c>: the intent's second parameter.</summary>
    public double IntentP2 { get; set; }

    /// <summary><c>intent_p3</c>: the intent's third parameter.</summary>
    public double IntentP3 { get; set; }

    /// <summary><c>intent_name</c> (at most 16 bytes).</summary>
    public string IntentName { get => GetText(IntentNameBytes); set => SetText(IntentNameBytes, value, nameof(IntentName)); }

    /// <summary><c>dim_info</c>: which dimensions are frequency, phase and slice (2 bits each).</summary>
    public byte DimInfo { get; set; }

    /// <summary><c>slice_code</c>: the slice timing order.</summary>
    public int SliceCode { get; set; }

    /// <summary><c>slice_start</c>: the first slice of the timing pattern.</summary>
    public long SliceStart { get; set; }

    /// <summary><c>slice_end</c>: the last slice of the timing pattern.</summary>
    public long SliceEnd { get; set; }

    /// <summary><c>slice_duration</c>: the time to acquire one slice.</summary>
    public double SliceDuration { get; set; }

    /// <summary><c>toffset</c>: the time axis' shift.</summary>
    public double TOffset { get; set; }

    /// <summary><c>cal_max</c>: the top of the display range (0 with <see cref="CalMin"/>: none).</summary>
    public double CalMax { get; set; }

    /// <summary><c>cal_min</c>: the bottom of the display range.</summary>
    public double CalMin { get; set; }

    /// <summary><c>xyzt_units</c>: spatial units in bits 0–2 (2 = mm), temporal units in bits 3–5 (8 = s).</summary>
    public int XyztUnits { get; set; }

    /// <summary><c>descrip</c>: free text (at most 80 bytes).</summary>
    public string Description { get => GetText(DescriptionBytes); set => SetText(DescriptionBytes, value, nameof(Description)); }

    /// <summary><c>aux_file</c>: an auxiliary file's name (at most 24 bytes).</summary>
    public string AuxFile { get => GetText(AuxFileBytes); set => SetText(AuxFileBytes, value, nameof(AuxFile)); }

    /// <summary><c>qform_code</c>: what the quaternion transform maps to (0: it is unset).</summary>
    public int QformCode { get; set; }

    /// <summary><c>sform_code</c>: what the <see cref="SRowX"/>… affine maps to (0: it is unset).</summary>
    public int SformCode { get; set; }

    /// <summary><c>quatern_b</c>: the rotation quaternion's b.</summary>
    public double QuaternB { get; set; }

    /// <summary><c>quatern_c</c>: the rotation quaternion's c.</summary>
    public double QuaternC { get; set; }

    /// <summary><c>quatern_d</c>: the rotation quaternion's d.</summary>
    public double QuaternD { get; set; }

    /// <summary><c>qoffset_x</c>: the quaternion transform's x shift.</summary>
    public double QOffsetX { get; set; }

    /// <summary><c>qoffset_y</c>: the quaternion transform's y shift.</summary>
    public double QOffsetY { get; set; }

    /// <summary><c>qoffset_z</c>: the quaternion transform's z shift.</summary>
    public double QOffsetZ { get; set; }

    /// <summary><c>srow_x</c>: the first row of the sform affine (x = SRowX · (i, j, k, 1)).</summary>
    public double[] SRowX { get; private set; } = new double[4];

    /// <summary><c>srow_y</c>: the second row of the sform affine.</summary>
    public double[] SRowY { get; private set; } = new double[4];

    /// <summary><c>srow_z</c>: the third row of the sform affine.</summary>
    public double[] SRowZ { get; private set; } = new double[4];

    /// <summary>NIfTI-1 only, from ANALYZE 7.5 (unused): <c>data_type</c> (at most 10 bytes).</summary>
    public string AnalyzeDataType { get => GetText(DataTypeNameBytes); set => SetText(DataTypeNameBytes, value, nameof(AnalyzeDataType)); }

    /// <summary>NIfTI-1 only, from ANALYZE 7.5 (unused): <c>db_name</c> (at most 18 bytes).</summary>
    public string AnalyzeDbName { get => GetText(DbNameBytes); set => SetText(DbNameBytes, value, nameof(AnalyzeDbName)); }

    /// <summary>NIfTI-1 only, from ANALYZE 7.5 (unused): <c>extents</c>.</summary>
    public int Extents { get; set; }

    /// <summary>NIfTI-1 only, from ANALYZE 7.5 (unused): <c>session_error</c>.</summary>
    public short SessionError { get; set; }

    /// <summary>NIfTI-1 only, from ANALYZE 7.5 (unused): <c>regular</c>.</summary>
    public byte Regular { get; set; }

    /// <summary>NIfTI-1 only, from ANALYZE 7.5 (unused): <c>glmax</c>.</summary>
    public int GlMax { get; set; }

    /// <summary>NIfTI-1 only, from ANALYZE 7.5 (unused): <c>glmin</c>.</summary>
    public int GlMin { get; set; }

    /// <summary>The number of dimensions, <c>Dim[0]</c>.</summary>
    public int Rank => (int)Math.Clamp(Dim[0], 0, 7);

    /// <summary>
    /// Sets <see cref="Dim"/> to <paramref name="shape"/> (x, y, z[, t]): <c>Dim[0]</c> to its
    /// length, the entries after it to 1.
    /// </summary>
    /// <param name="shape">1 to 4 sizes, each at least 1.</param>
    public void SetShape(params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (shape.Length is < 1 or > 4) throw new ArgumentException($"a NIfTI image here has 1 to 4 dimensions, not {shape.Length}", nameof(shape));
        foreach (int size in shape) ArgumentOutOfRangeException.ThrowIfLessThan(size, 1, nameof(shape));
        Dim[0] = shape.Length;
        for (int i = 1; i < 8; i++) Dim[i] = i <= shape.Length ? shape[i - 1] : 1;
    }

    /// <summary>
    /// Sets the sform to <paramref name="affine"/> (its first three rows) with
    /// <paramref name="code"/> (1 scanner, 2 aligned, 3 Talairach, 4 MNI 152, 5 another template).
    /// </summary>
    /// <param name="affine">A 4×4 voxel-to-world matrix.</param>
    /// <param name="code">The <see cref="SformCode"/>, above 0.</param>
    public void SetSform(double[,] affine, int code = 2)
    {
        ArgumentNullException.ThrowIfNull(affine);
        if (affine.GetLength(0) != 4 || affine.GetLength(1) != 4) throw new ArgumentException("the affine must be 4x4", nameof(affine));
        ArgumentOutOfRangeException.ThrowIfLessThan(code, 1);
        for (int c = 0; c < 4; c++)
        {
            SRowX[c] = affine[0, c];
            SRowY[c] = affine[1, c];
            SRowZ[c] = affine[2, c];
        }
        SformCode = code;
    }

    /// <summary>The voxel-to-world affine: <see cref="NiftiAffine.Best"/>.</summary>
    public double[,] GetAffine() => NiftiAffine.Best(this);

    /// <summary>A deep copy.</summary>
    public NiftiHeader Clone()
    {
        var copy = (NiftiHeader)MemberwiseClone();
        copy.Dim = (long[])Dim.Clone();
        copy.PixDim = (double[])PixDim.Clone();
        copy.SRowX = (double[])SRowX.Clone();
        copy.SRowY = (double[])SRowY.Clone();
        copy.SRowZ = (double[])SRowZ.Clone();
        copy.DescriptionBytes = (byte[])DescriptionBytes.Clone();
        copy.AuxFileBytes = (byte[])AuxFileBytes.Clone();
        copy.IntentNameBytes = (byte[])IntentNameBytes.Clone();
        copy.DataTypeNameBytes = (byte[])DataTypeNameBytes.Clone();
        copy.DbNameBytes = (byte[])DbNameBytes.Clone();
        copy.UnusedBytes = (byte[])UnusedBytes.Clone();
        return copy;
    }

    private static string GetText(byte[] field)
    {
        int end = Array.IndexOf(field, (byte)0);
        return Encoding.Latin1.GetString(field, 0, end < 0 ? field.Length : end);
    }

    private static void SetText(byte[] field, string value, string name)
    {
        ArgumentNullException.ThrowIfNull(value, name);
        byte[] bytes = Encoding.Latin1.GetBytes(value);
        if (bytes.Length > field.Length) throw new ArgumentException($"{name} holds at most {field.Length} bytes, not {bytes.Length}", name);
        Array.Clear(field);
        bytes.CopyTo(field, 0);
    }
}
