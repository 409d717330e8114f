using System.Buffers.Binary;
using UNet.Segmentation.Imaging;
using UNet.Segmentation.Web.Limits;
using UNet.Segmentation.Web.Problems;
using UNet.Segmentation.Web.Tests.Support;

namespace UNet.Segmentation.Web.Tests;

/// <summary>Formats by magic bytes and sizes from headers alone, for each format the service takes.</summary>
public sealed class ImageSniffingTests
{
    private static RequestProblem Refusal(byte[] data) =>
        Assert.Throws<RequestProblemException>(() => ImageSniffing.Read(data, "the test bytes")).Problem;

    [Fact]
    public void RealFiles_GiveTheirFormatAndSize()
    {
        Assert.Equal(new ImageHeader(ImageFileFormat.Png, 31, 17), ImageSniffing.Read(TestImages.GreyPng(17, 31), "png"));
        Assert.Equal(new ImageHeader(ImageFileFormat.Tiff, 31, 17), ImageSniffing.Read(TestImages.GreyTiff(17, 31), "tiff"));
        Assert.Equal(new ImageHeader(ImageFileFormat.Jpeg, 31, 17), ImageSniffing.Read(TestImages.GreyJpeg(17, 31), "jpeg"));
    }

    [Fact]
    public void AJpegFrameHeader_AfterOtherSegments_GivesTheSize()
    {
        // SOI, an APP0 segment of 16 bytes, fill bytes, then SOF2 (progressive) declaring 20000 rows x 30000 columns.
        byte[] jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, .. new byte[14], 0xFF, 0xFF, 0xC2, 0x00, 0x11, 0x08, 0x4E, 0x20, 0x75, 0x30, 0x01];
        var header = ImageSniffing.Read(jpeg, "jpeg");
        Assert.Equal((30000L, 20000L), (header.Width, header.Height));
        var problem = Assert.Throws<RequestProblemException>(() => ImageSniffing.CheckPixels(header, 16_777_216, "the test bytes")).Problem;
        Assert.Equal(413, problem.Status);
        Assert.Contains("30000x20000 = 600000000 pixels", problem.Detail);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void ATiffDirectoryAlone_GivesTheSize_InEitherByteOrder_ClassicOrBig(bool bigEndian, bool bigTiff)
    {
        var header = ImageSniffing.Read(TiffHeader(bigEndian, bigTiff, width: 20000, height: 20000), "tiff");
        Assert.Equal(new ImageHeader(ImageFileFormat.Tiff, 20000, 20000), header);
    }

    [Fact]
    public void TextAndOtherFormats_Are415_ShowingTheirFirstBytes()
    {
        var text = Refusal("plain text, not a picture"u8.ToArray());
        Assert.Equal(415, text.Status);
        Assert.Contains("70 6C 61 69 6E 20 74 65 (\"plain te\")", text.Detail);
        Assert.Equal(415, Refusal("GIF89a......"u8.ToArray()).Status);
    }

    [Theory]
    [InlineData(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13 }, "cut short")]
    [InlineData(new byte[] { 0xFF, 0xD8, 0xFF, 0xE0, 0x00 }, "cut short")]
    [InlineData(new byte[] { 0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x08 }, "starts its scan before a start-of-frame")]
    [InlineData(new byte[] { 0x49, 0x49, 0x2A, 0x00, 0xFF, 0x00, 0x00, 0x00 }, "outside the 8 bytes sent")]
    public void CutOrInconsistentHeaders_Are400(byte[] data, string expected)
    {
        var problem = Refusal(data);
        Assert.Equal(400, problem.Status);
        Assert.Equal("bad-image-header", problem.Kind);
        Assert.Contains(expected, problem.Detail);
    }

    [Fact]
    public void APngWithZeroWidth_Is400()
    {
        var png = TestImages.PngHeaderOnly(0, 5);
        Assert.Contains("impossible size 0x5", Refusal(png).Detail);
    }

    /// <summary>A TIFF header and a first directory with ImageWidth and ImageLength only (LONG, or LONG8 in BigTIFF).</summary>
    private static byte[] TiffHeader(bool bigEndian, bool bigTiff, uint width, uint height)
    {
        var data = new byte[bigTiff ? 16 + 8 + 2 * 20 + 8 : 8 + 2 + 2 * 12 + 4];
        void U16(int at, ushort v) { if (bigEndian) BinaryPrimitives.WriteUInt16BigEndian(data.AsSpan(at), v); else BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(at), v); }
        void U32(int at, uint v) { if (bigEndian) BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(at), v); else BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan(at), v); }
        void U64(int at, ulong v) { if (bigEndian) BinaryPrimitives.WriteUInt64BigEndian(data.AsSpan(at), v); else BinaryPrimitives.WriteUInt64LittleEndian(data.AsSpan(at), v); }
        data[0] = data[1] = (byte)(bigEndian ? 'M' : 'I');
        U16(2, (ushort)(bigTiff ? 43 : 42));
        if (bigTiff)
        {
            U16(4, 8);
            U64(8, 16);
            U64(16, 2);
            for (int i = 0; i < 2; i++)
            {
                int at = 24 + i * 20;
                U16(at, (ushort)(256 + i));
                U16(at + 2, 16);
                U64(at + 4, 1);
                U64(at + 12, i == 0 ? width : height);
            }
        }
        else
        {
            U32(4, 8);
            U16(8, 2);
            for (int i = 0; i < 2; i++)
            {
                int at = 10 + i * 12;
                U16(at, (ushort)(256 + i));
                U16(at + 2, 4);
                U32(at + 4, 1);
                U32(at + 8, i == 0 ? width : height);
            }
        }
        return data;
    }
}
