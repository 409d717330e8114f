using UNet.Segmentation.Imaging;

namespace UNet.Segmentation.Tests.Imaging;

public class TiffVolumeTests
{
    [Fact]
    public void Constructor_RejectsDataOfTheWrongLength_NamingTheParameter()
    {
        var e = Assert.Throws<ArgumentException>(() => new TiffVolume(2, 3, 4, new byte[23]));
        Assert.Equal("data", e.ParamName);
        Assert.Contains("24", e.Message);
        Assert.Throws<ArgumentException>(() => new TiffVolume(1, 3, 4, new float[13]));
        Assert.Throws<ArgumentNullException>(() => new TiffVolume(1, 3, 4, (ushort[])null!));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TiffVolume(0, 3, 4, new byte[0]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TiffVolume(1, 0, 4, new byte[0]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TiffVolume(1, 3, -1, new byte[0]));
    }

    [Fact]
    public void Getters_ReturnTheArrayOfTheRightFormat_AndRefuseTheOthers()
    {
        var data = new ushort[] { 1, 2, 3, 4, 5, 6 };
        var volume = new TiffVolume(2, 1, 3, data);
        Assert.Equal(TiffSampleFormat.UInt16, volume.SampleFormat);
        Assert.Same(data, volume.GetUInt16());
        Assert.Throws<InvalidOperationException>(() => volume.GetUInt8());
        Assert.Throws<InvalidOperationException>(() => volume.GetFloat32());
        Assert.Equal(new ushort[] { 4, 5, 6 }, volume.PageUInt16(1).ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => volume.PageUInt16(2).Length);
        Assert.Throws<InvalidOperationException>(() => volume.PageUInt8(0).Length);
    }

    [Fact]
    public void PageUInt8_IsThePagesSlice()
    {
        var volume = new TiffVolume(3, 2, 2, Enumerable.Range(0, 12).Select(i => (byte)i).ToArray());
        Assert.Equal(new byte[] { 8, 9, 10, 11 }, volume.PageUInt8(2).ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => volume.PageUInt8(-1).Length);
    }

    [Fact]
    public void ToFloat32_ConvertsValuesWithoutScaling_AndCopies()
    {
        Assert.Equal(new float[] { 0, 255, 7 }, new TiffVolume(1, 1, 3, new byte[] { 0, 255, 7 }).ToFloat32());
        Assert.Equal(new float[] { 65535, 1 }, new TiffVolume(1, 1, 2, new ushort[] { 65535, 1 }).ToFloat32());
        var floats = new float[] { -1.5f, 2 };
        var volume = new TiffVolume(1, 2, 1, floats);
        var copy = volume.ToFloat32();
        Assert.Equal(floats, copy);
        Assert.NotSame(floats, copy);
    }
}
