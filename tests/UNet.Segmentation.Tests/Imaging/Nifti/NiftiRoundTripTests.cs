using UNet.Segmentation.Imaging.Nifti;
using static UNet.Segmentation.Tests.Imaging.Nifti.NiftiTestFiles;

namespace UNet.Segmentation.Tests.Imaging.Nifti;

/// <summary>Our writer and our reader: every voxel type, 3-D and 4-D, NIfTI-1 and NIfTI-2, plain and gzipped, both byte orders, every header field.</summary>
public class NiftiRoundTripTests
{
    public static TheoryData<NiftiDataType, NiftiVersion, bool, int> Variants()
    {
        var data = new TheoryData<NiftiDataType, NiftiVersion, bool, int>();
        foreach (var type in Types)
            foreach (var version in Enum.GetValues<NiftiVersion>())
                foreach (bool gzip in new[] { false, true })
                    foreach (int rank in new[] { 3, 4 })
                        data.Add(type, version, gzip, rank);
        return data;
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void EveryVariant_ReadsBackBitForBit_WithEveryHeaderField(NiftiDataType type, NiftiVersion version, bool gzip, int rank)
    {
        using var dir = new TempDir();
        int[] shape = rank == 3 ? [7, 5, 3] : [4, 3, 5, 2];
        var image = new NiftiImage(RichHeader(version, shape), Voxels(type, shape.Aggregate(1, (p, s) => p * s), seed: (int)type + rank));
        string path = dir.File("image.nii" + (gzip ? ".gz" : ""));
        NiftiFile.Write(path, image);

        var read = NiftiFile.Read(path);
        Assert.Equal((version, type), (read.Header.Version, read.DataType));
        Assert.Equal(shape, read.Shape);
        Assert.False(read.Header.WasBigEndian);
        int offset = version == NiftiVersion.Nifti1 ? 352 : 544;
        Assert.Equal(offset, read.Header.VoxOffset);
        Assert.Equal(Bytes(image.Data).ToArray(), Bytes(read.Data).ToArray());
        Assert.Empty(Differences(Fields(image.Header, offset), Fields(read.Header, read.Header.VoxOffset)));

        // written again, the file is the same, byte for byte
        string again = dir.File("again.nii" + (gzip ? ".gz" : ""));
        NiftiFile.Write(again, read);
        Assert.Equal(Plain(File.ReadAllBytes(path)), Plain(File.ReadAllBytes(again)));
        Assert.Equal(gzip, File.ReadAllBytes(path)[0] == 0x1f);
        Assert.Equal(new[] { "again.nii" + (gzip ? ".gz" : ""), "image.nii" + (gzip ? ".gz" : "") }, dir.Entries());
    }

    public static TheoryData<NiftiDataType, NiftiVersion> TypesAndVersions()
    {
        var data = new TheoryData<NiftiDataType, NiftiVersion>();
        foreach (var type in Types)
            foreach (var version in Enum.GetValues<NiftiVersion>())
                data.Add(type, version);
        return data;
    }

    [Theory]
    [MemberData(nameof(TypesAndVersions))]
    public void BigEndianFiles_ReadAsTheirLittleEndianTwins(NiftiDataType type, NiftiVersion version)
    {
        var image = new NiftiImage(RichHeader(version, 6, 5, 4, 2), Voxels(type, 240, seed: 11));
        byte[] little = ToBytes(image), big = ToBigEndian(little);
        Assert.NotEqual(little, big);

        foreach (var bytes in new[] { big, Gzip(big) })
        {
            var read = NiftiFile.Read(new MemoryStream(bytes), "big-endian");
            Assert.True(read.Header.WasBigEndian);
            Assert.Equal(Bytes(image.Data).ToArray(), Bytes(read.Data).ToArray());
            Assert.Empty(Differences(Fields(image.Header, 0), Fields(read.Header, 0)));
            Assert.Equal(little, ToBytes(read)); // written back little-endian, otherwise identical
        }
    }

    [Fact]
    public void Nifti1Extensions_AreSkipped_AndVoxOffsetIsHonoured()
    {
        var image = new NiftiImage(RichHeader(NiftiVersion.Nifti1, 5, 4, 3), Voxels(NiftiDataType.Int16, 60, seed: 3));
        byte[] plain = ToBytes(image), extended = WithExtension(plain, "an extension of 38 bytes, padded to 48");
        foreach (var bytes in new[] { extended, ToBigEndian(extended), Gzip(extended) })
        {
            var read = NiftiFile.Read(new MemoryStream(bytes), "extended");
            Assert.Equal(352 + 48, read.Header.VoxOffset);
            Assert.Equal(image.GetData<short>(), read.GetData<short>());
            Assert.Equal(plain, ToBytes(read)); // the extension is not written back; vox_offset is 352 again
        }
    }

    [Fact]
    public void StreamsThatCannotSeek_ReadLikeFiles()
    {
        var image = new NiftiImage(RichHeader(NiftiVersion.Nifti2, 9, 8, 7), Voxels(NiftiDataType.Float64, 504, seed: 4));
        foreach (bool gzip in new[] { false, true })
        {
            var read = NiftiFile.Read(new Trickle(ToBytes(image, gzip)), "trickle");
            Assert.Equal(Bytes(image.Data).ToArray(), Bytes(read.Data).ToArray());
            Assert.Equal(NiftiVersion.Nifti2, NiftiFile.ReadHeader(new Trickle(ToBytes(image, gzip)), "trickle").Version);
        }
    }

    [Fact]
    public void Scaling_FollowsSlopeAndIntercept_SlopeZeroOrNonFiniteMeansNone()
    {
        short[] raw = [-3, 0, 1, 1000, short.MaxValue];
        var image = NiftiImage.Create(raw, 5, 1, 1);
        Assert.False(image.IsScaled);
        Assert.Equal(raw.Select(v => (float)v), image.ToScaledFloat32());

        image.Header.SclSlope = 2.5;
        image.Header.SclInter = -10;
        Assert.True(image.IsScaled);
        Assert.Equal(raw.Select(v => v * 2.5 - 10), image.ToScaledFloat64());
        Assert.Equal(raw.Select(v => (float)(v * 2.5 - 10)), image.ToScaledFloat32());
        Assert.Equal(raw, image.GetData<short>()); // raw stays as stored

        var read = NiftiFile.Read(new MemoryStream(ToBytes(image)), "scaled");
        Assert.Equal((2.5, -10.0), (read.Header.SclSlope, read.Header.SclInter));
        Assert.Equal(image.ToScaledFloat64(), read.ToScaledFloat64());

        foreach (var (slope, inter) in new[] { (0.0, 5.0), (double.NaN, 5.0), (double.PositiveInfinity, 1.0) })
        {
            image.Header.SclSlope = slope;
            image.Header.SclInter = inter;
            Assert.False(image.IsScaled);
            Assert.Equal(raw.Select(v => (double)v), image.ToScaledFloat64());
        }
        image.Header.SclSlope = 2;
        image.Header.SclInter = double.NaN; // a NaN intercept counts as 0
        Assert.Equal(raw.Select(v => 2.0 * v), image.ToScaledFloat64());

        var doubles = NiftiImage.Create(new[] { 1e300, -2.5, double.NaN }, 3);
        doubles.Header.SclSlope = 1e10;
        var scaled = doubles.ToScaledFloat32();
        Assert.Equal(float.PositiveInfinity, scaled[0]);
        Assert.Equal(-2.5e10f, scaled[1]);
        Assert.True(float.IsNaN(scaled[2]));
    }

    [Fact]
    public void ScaledValues_KeepEachTypesSign()
    {
        // the runtime lets an sbyte[] pass as a byte[] (and ushort[] as short[], uint[] as int[]): each must convert as itself
        Assert.Equal(new[] { -128.0, 127 }, NiftiImage.Create(new sbyte[] { -128, 127 }, 2).ToScaledFloat64());
        Assert.Equal(new[] { 0.0, 255 }, NiftiImage.Create(new byte[] { 0, 255 }, 2).ToScaledFloat64());
        Assert.Equal(new[] { 65535.0, 1 }, NiftiImage.Create(new ushort[] { 65535, 1 }, 2).ToScaledFloat64());
        Assert.Equal(new[] { -1.0, 1 }, NiftiImage.Create(new short[] { -1, 1 }, 2).ToScaledFloat64());
        Assert.Equal(new[] { 4294967295.0, 0 }, NiftiImage.Create(new uint[] { uint.MaxValue, 0 }, 2).ToScaledFloat64());
        Assert.Equal(new[] { -1.0, 0 }, NiftiImage.Create(new[] { -1, 0 }, 2).ToScaledFloat64());
        Assert.Equal(new[] { -9.2233720368547758E+18, 1 }, NiftiImage.Create(new[] { long.MinValue, 1 }, 2).ToScaledFloat64());
        Assert.Equal(new[] { 65535f, 1 }, NiftiImage.Create(new ushort[] { 65535, 1 }, 2).ToScaledFloat32());
        Assert.Throws<InvalidOperationException>(() => NiftiImage.Create(new sbyte[2], 2).GetData<byte>());
        Assert.Throws<InvalidOperationException>(() => NiftiImage.Create(new uint[2], 2).GetData<int>());
    }

    [Fact]
    public void Like_KeepsTheGeometry_AndResetsWhatWouldMisdescribeALabelMap()
    {
        var header = RichHeader(NiftiVersion.Nifti1, 6, 5, 4, 3);
        var input = new NiftiImage(header, Voxels(NiftiDataType.Float32, 360, seed: 5));
        var labels = new byte[120];
        for (int i = 0; i < labels.Length; i++) labels[i] = (byte)(i % 4);

        var output = input.Like(labels); // as many voxels as one volume of the 4-D input: (X, Y, Z)
        Assert.Equal(new[] { 6, 5, 4 }, output.Shape);
        Assert.Equal(NiftiDataType.UInt8, output.DataType);
        Assert.Equal(NiftiAffine.Best(input.Header), output.GetAffine());
        Assert.Equal(input.Header.PixDim, output.Header.PixDim);
        Assert.Equal((1.0, 0.0, 0.0, 0.0, 0, ""), (output.Header.SclSlope, output.Header.SclInter, output.Header.CalMin, output.Header.CalMax, output.Header.IntentCode, output.Header.IntentName));
        var expected = Fields(input.Header, 352);
        var actual = Fields(output.Header, 352);
        Assert.Equal(
            new[] { "bitpix", "cal_max", "cal_min", "datatype", "dim", "glmax", "glmin", "intent_code", "intent_name", "intent_p1", "intent_p2", "intent_p3", "scl_inter", "scl_slope" },
            Differences(expected, actual).Select(d => d[..d.IndexOf(':')]));

        var same = input.Like(new float[360]);
        Assert.Equal(input.Shape, same.Shape);
        Assert.Equal(input.Header.Dim, same.Header.Dim);
        Assert.Equal(new[] { 2, 3, 60 }, input.Like(new int[360], 2, 3, 60).Shape);
        Assert.Throws<ArgumentException>(() => input.Like(new byte[7]));

        var read = NiftiFile.Read(new MemoryStream(ToBytes(output, gzip: true)), "labels");
        Assert.Equal(labels, read.GetData<byte>());
        var (written, reread) = (output.GetAffine(), read.GetAffine()); // NIfTI-1 stores floats
        Assert.All(Enumerable.Range(0, 16), i => Assert.Equal(written[i / 4, i % 4], reread[i / 4, i % 4], 1e-5));
    }

    [Fact]
    public void IndexOf_IsXFastest()
    {
        var image = NiftiImage.Create(Enumerable.Range(0, 3 * 2 * 4 * 2).ToArray(), 3, 2, 4, 2);
        Assert.Equal(2 + 3 * (1 + 2 * (3 + 4 * 1)), image.IndexOf(2, 1, 3, 1));
        Assert.Equal(image.VoxelCount - 1, image.GetData<int>()[image.IndexOf(2, 1, 3, 1)]);
        Assert.Equal(1, image.IndexOf(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => image.IndexOf(3, 0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => NiftiImage.Create(new byte[6], 3, 2).IndexOf(0, 0, 1));
    }

    [Fact]
    public void Images_CheckTheirArrays()
    {
        var header = new NiftiHeader();
        header.SetShape(2, 3, 4);
        Assert.Throws<ArgumentException>(() => new NiftiImage(header, new float[23]));
        Assert.Throws<ArgumentException>(() => new NiftiImage(header, new bool[24]));
        Assert.Throws<ArgumentException>(() => new NiftiImage(header, new float[2, 12]));
        Assert.Throws<ArgumentException>(() => new NiftiImage(new NiftiHeader(), new float[24])); // dim[0] is 0
        Assert.Throws<ArgumentException>(() => header.SetShape(1, 2, 3, 4, 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => header.SetShape(2, 0, 4));
        Assert.Throws<ArgumentException>(() => header.Description = new string('x', 81));
        header.Description = new string('x', 80);
        Assert.Equal(80, header.Description.Length);

        var image = new NiftiImage(header, new ushort[24]);
        Assert.Equal(NiftiDataType.UInt16, image.DataType);
        Assert.Equal(NiftiDataType.UInt8, header.DataType); // the image holds a copy
        Assert.Throws<InvalidOperationException>(() => image.GetData<short>());
        image.Header.Dim[3] = 5; // changed after the fact: refused when written
        Assert.Throws<ArgumentException>(() => ToBytes(image));
    }

    [Fact]
    public void Nifti1_RefusesWhatOnlyNifti2Holds_LeavingTheExistingFileIntact()
    {
        using var dir = new TempDir();
        string path = dir.File("wide.nii.gz");
        NiftiFile.Write(path, NiftiImage.Create(new byte[6], 3, 2));
        byte[] before = File.ReadAllBytes(path);

        var wide = NiftiImage.Create(new byte[40_000], 40_000, 1, 1);
        Assert.Contains("write NIfTI-2", Assert.Throws<ArgumentException>(() => NiftiFile.Write(path, wide)).Message);
        wide.Header.Version = NiftiVersion.Nifti2;
        wide.Header.SliceCode = 300; // 8 bits in NIfTI-1, 32 in NIfTI-2
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal(new[] { "wide.nii.gz" }, dir.Entries());

        NiftiFile.Write(path, wide);
        var read = NiftiFile.Read(path);
        Assert.Equal(new[] { 40_000, 1, 1 }, read.Shape);
        Assert.Equal(300, read.Header.SliceCode);
        read.Header.Version = NiftiVersion.Nifti1;
        read.Header.SetShape(200, 200);
        Assert.Throws<ArgumentException>(() => NiftiFile.Write(dir.File("narrow.nii"), read)); // slice_code 300
        Assert.Equal(new[] { "wide.nii.gz" }, dir.Entries());
    }

    [Fact]
    public void ConvertingBetweenVersions_KeepsTheFieldsBothHave()
    {
        var nifti2 = new NiftiImage(RichHeader(NiftiVersion.Nifti2, 4, 4, 4), Voxels(NiftiDataType.UInt16, 64, seed: 8));
        var read = NiftiFile.Read(new MemoryStream(ToBytes(nifti2)), "v2");
        read.Header.Version = NiftiVersion.Nifti1;
        var nifti1 = NiftiFile.Read(new MemoryStream(ToBytes(read)), "v1");
        Assert.Equal(NiftiVersion.Nifti1, nifti1.Header.Version);
        Assert.Equal(nifti2.GetData<ushort>(), nifti1.GetData<ushort>());
        var expected = Fields(read.Header, 352); // floats narrowed as NIfTI-1 stores them
        Assert.Empty(Differences(expected, Fields(nifti1.Header, 352)));
    }

    [Fact]
    public void OneAndTwoDimensionalImages_RoundTrip()
    {
        foreach (int[] shape in new[] { new[] { 17 }, new[] { 5, 3 } })
        {
            var image = NiftiImage.Create(Enumerable.Range(0, shape.Aggregate((a, b) => a * b)).Select(i => (float)i).ToArray(), shape);
            var read = NiftiFile.Read(new MemoryStream(ToBytes(image)), "low rank");
            Assert.Equal(shape, read.Shape);
            Assert.Equal(image.GetData<float>(), read.GetData<float>());
        }
    }
}
