using System.Buffers.Binary;

namespace UNet.Segmentation.Imaging.Nifti;

/// <summary>
/// The byte layouts of the NIfTI-1 (348 bytes) and NIfTI-2 (540 bytes) headers: decoding either
/// byte order into a <see cref="NiftiHeader"/> and checking what the reader relies on, and encoding
/// little-endian with the 4-byte extender after the header (no extensions).
/// </summary>
internal static class NiftiHeaderCodec
{
    private static ReadOnlySpan<byte> Magic1 => "n+1\0"u8;
    private static ReadOnlySpan<byte> Magic2 => "n+2\0\r\n\x1A\n"u8;

    /// <summary>The version and byte order that the first four bytes (<c>sizeof_hdr</c>) announce, or null.</summary>
    public static (NiftiVersion Version, bool BigEndian)? Detect(ReadOnlySpan<byte> first4)
    {
        int little = BinaryPrimitives.ReadInt32LittleEndian(first4), big = BinaryPrimitives.ReadInt32BigEndian(first4);
        if (little == NiftiHeader.Nifti1HeaderSize) return (NiftiVersion.Nifti1, false);
        if (big == NiftiHeader.Nifti1HeaderSize) return (NiftiVersion.Nifti1, true);
        if (little == NiftiHeader.Nifti2HeaderSize) return (NiftiVersion.Nifti2, false);
        if (big == NiftiHeader.Nifti2HeaderSize) return (NiftiVersion.Nifti2, true);
        return null;
    }

    /// <summary>The header size of <paramref name="version"/>.</summary>
    public static int Size(NiftiVersion version) => version == NiftiVersion.Nifti1 ? NiftiHeader.Nifti1HeaderSize : NiftiHeader.Nifti2HeaderSize;

    /// <summary>Where the writer puts the voxels: after the header and its 4-byte extender.</summary>
    public static int DataOffset(NiftiVersion version) => Size(version) + 4;

    /// <summary>Decodes and checks a header (magic, data type, dimensions, vox_offset).</summary>
    public static NiftiHeader Decode(ReadOnlySpan<byte> bytes, NiftiVersion version, bool bigEndian, string name)
    {
        var f = new Fields(bytes, bigEndian);
        var h = new NiftiHeader { Version = version, WasBigEndian = bigEndian };
        int dataType;
        double voxOffset;
        if (version == NiftiVersion.Nifti1)
        {
            CheckMagic(bytes.Slice(344, 4), Magic1, "ni1\0"u8, name);
            bytes.Slice(4, 10).CopyTo(h.DataTypeNameBytes);
            bytes.Slice(14, 18).CopyTo(h.DbNameBytes);
            h.Extents = f.I32(32);
            h.SessionError = f.I16(36);
            h.Regular = bytes[38];
            h.DimInfo = bytes[39];
            for (int i = 0; i < 8; i++) h.Dim[i] = f.I16(40 + 2 * i);
            h.IntentP1 = f.F32(56);
            h.IntentP2 = f.F32(60);
            h.IntentP3 = f.F32(64);
            h.IntentCode = f.I16(68);
            dataType = f.I16(70);
            h.SliceStart = f.I16(74);
            for (int i = 0; i < 8; i++) h.PixDim[i] = f.F32(76 + 4 * i);
            voxOffset = f.F32(108);
            h.SclSlope = f.F32(112);
            h.SclInter = f.F32(116);
            h.SliceEnd = f.I16(120);
            h.SliceCode = bytes[122];
            h.XyztUnits = bytes[123];
            h.CalMax = f.F32(124);
            h.CalMin = f.F32(128);
            h.SliceDuration = f.F32(132);
            h.TOffset = f.F32(136);
            h.GlMax = f.I32(140);
            h.GlMin = f.I32(144);
            bytes.Slice(148, 80).CopyTo(h.DescriptionBytes);
            bytes.Slice(228, 24).CopyTo(h.AuxFileBytes);
            h.QformCode = f.I16(252);
            h.SformCode = f.I16(254);
            h.QuaternB = f.F32(256);
            h.QuaternC = f.F32(260);
            h.QuaternD = f.F32(264);
            h.QOffsetX = f.F32(268);
            h.QOffsetY = f.F32(272);
            h.QOffsetZ = f.F32(276);
            for (int c = 0; c < 4; c++)
            {
                h.SRowX[c] = f.F32(280 + 4 * c);
                h.SRowY[c] = f.F32(296 + 4 * c);
                h.SRowZ[c] = f.F32(312 + 4 * c);
            }
            bytes.Slice(328, 16).CopyTo(h.IntentNameBytes);
        }
        else
        {
            CheckMagic(bytes.Slice(4, 8), Magic2, "ni2\0\r\n\x1A\n"u8, name);
            dataType = f.I16(12);
            for (int i = 0; i < 8; i++) h.Dim[i] = f.I64(16 + 8 * i);
            h.IntentP1 = f.F64(80);
            h.IntentP2 = f.F64(88);
            h.IntentP3 = f.F64(96);
            for (int i = 0; i < 8; i++) h.PixDim[i] = f.F64(104 + 8 * i);
            long offset = f.I64(168);
            voxOffset = offset;
            h.SclSlope = f.F64(176);
            h.SclInter = f.F64(184);
            h.CalMax = f.F64(192);
            h.CalMin = f.F64(200);
            h.SliceDuration = f.F64(208);
            h.TOffset = f.F64(216);
            h.SliceStart = f.I64(224);
            h.SliceEnd = f.I64(232);
            bytes.Slice(240, 80).CopyTo(h.DescriptionBytes);
            bytes.Slice(320, 24).CopyTo(h.AuxFileBytes);
            h.QformCode = f.I32(344);
            h.SformCode = f.I32(348);
            h.QuaternB = f.F64(352);
            h.QuaternC = f.F64(360);
            h.QuaternD = f.F64(368);
            h.QOffsetX = f.F64(376);
            h.QOffsetY = f.F64(384);
            h.QOffsetZ = f.F64(392);
            for (int c = 0; c < 4; c++)
            {
                h.SRowX[c] = f.F64(400 + 8 * c);
                h.SRowY[c] = f.F64(432 + 8 * c);
                h.SRowZ[c] = f.F64(464 + 8 * c);
            }
            h.SliceCode = f.I32(496);
            h.XyztUnits = f.I32(500);
            h.IntentCode = f.I32(504);
            bytes.Slice(508, 16).CopyTo(h.IntentNameBytes);
            h.DimInfo = bytes[524];
            bytes.Slice(525, 15).CopyTo(h.UnusedBytes);
            if (offset < 0) throw new NiftiFormatException(name, $"vox_offset is {offset}, negative");
        }

        if (!NiftiDataTypes.IsSupported(dataType))
            throw new NiftiFormatException(name, $"datatype {dataType} ({NiftiDataTypes.Name(dataType)}) is not supported: only uint8, int8, int16, uint16, int32, uint32, int64, float32 and float64 voxels are");
        h.DataType = (NiftiDataType)dataType;
        NiftiShape.Check(h.Dim, message => new NiftiFormatException(name, message));
        int size = Size(version);
        if (double.IsNaN(voxOffset)) throw new NiftiFormatException(name, "vox_offset is NaN");
        if (voxOffset < size) throw new NiftiFormatException(name, FormattableString.Invariant($"vox_offset is {voxOffset}, inside the {size}-byte header"));
        if (voxOffset >= 1L << 60 || voxOffset != Math.Floor(voxOffset))
            throw new NiftiFormatException(name, FormattableString.Invariant($"vox_offset is {voxOffset}, not a usable byte offset"));
        h.VoxOffset = (long)voxOffset;
        return h;
    }

    /// <summary>Encodes <paramref name="h"/> little-endian as <paramref name="version"/>, followed by the 4-byte zero extender.</summary>
    /// <exception cref="ArgumentException">A field does not fit NIfTI-1's narrower types.</exception>
    public static byte[] Encode(NiftiHeader h, NiftiVersion version)
    {
        int size = Size(version);
        var bytes = new byte[size + 4];
        var s = bytes.AsSpan();
        if (version == NiftiVersion.Nifti1)
        {
            Put32(s, 0, size);
            h.DataTypeNameBytes.CopyTo(s[4..]);
            h.DbNameBytes.CopyTo(s[14..]);
            Put32(s, 32, h.Extents);
            Put16(s, 36, h.SessionError, "session_error");
            s[38] = h.Regular;
            s[39] = h.DimInfo;
            for (int i = 0; i < 8; i++) Put16(s, 40 + 2 * i, h.Dim[i], $"dim[{i}]");
            PutF32(s, 56, h.IntentP1);
            PutF32(s, 60, h.IntentP2);
            PutF32(s, 64, h.IntentP3);
            Put16(s, 68, h.IntentCode, "intent_code");
            Put16(s, 70, (short)h.DataType, "datatype");
            Put16(s, 72, h.BitsPerVoxel, "bitpix");
            Put16(s, 74, h.SliceStart, "slice_start");
            for (int i = 0; i < 8; i++) PutF32(s, 76 + 4 * i, h.PixDim[i]);
            PutF32(s, 108, DataOffset(version));
            PutF32(s, 112, h.SclSlope);
            PutF32(s, 116, h.SclInter);
            Put16(s, 120, h.SliceEnd, "slice_end");
            s[122] = Byte(h.SliceCode, "slice_code");
            s[123] = Byte(h.XyztUnits, "xyzt_units");
            PutF32(s, 124, h.CalMax);
            PutF32(s, 128, h.CalMin);
            PutF32(s, 132, h.SliceDuration);
            PutF32(s, 136, h.TOffset);
            Put32(s, 140, h.GlMax);
            Put32(s, 144, h.GlMin);
            h.DescriptionBytes.CopyTo(s[148..]);
            h.AuxFileBytes.CopyTo(s[228..]);
            Put16(s, 252, h.QformCode, "qform_code");
            Put16(s, 254, h.SformCode, "sform_code");
            PutF32(s, 256, h.QuaternB);
            PutF32(s, 260, h.QuaternC);
            PutF32(s, 264, h.QuaternD);
            PutF32(s, 268, h.QOffsetX);
            PutF32(s, 272, h.QOffsetY);
            PutF32(s, 276, h.QOffsetZ);
            for (int c = 0; c < 4; c++)
            {
                PutF32(s, 280 + 4 * c, h.SRowX[c]);
                PutF32(s, 296 + 4 * c, h.SRowY[c]);
                PutF32(s, 312 + 4 * c, h.SRowZ[c]);
            }
            h.IntentNameBytes.CopyTo(s[328..]);
            Magic1.CopyTo(s[344..]);
        }
        else
        {
            Put32(s, 0, size);
            Magic2.CopyTo(s[4..]);
            Put16(s, 12, (short)h.DataType, "datatype");
            Put16(s, 14, h.BitsPerVoxel, "bitpix");
            for (int i = 0; i < 8; i++) Put64(s, 16 + 8 * i, h.Dim[i]);
            PutF64(s, 80, h.IntentP1);
            PutF64(s, 88, h.IntentP2);
            PutF64(s, 96, h.IntentP3);
            for (int i = 0; i < 8; i++) PutF64(s, 104 + 8 * i, h.PixDim[i]);
            Put64(s, 168, DataOffset(version));
            PutF64(s, 176, h.SclSlope);
            PutF64(s, 184, h.SclInter);
            PutF64(s, 192, h.CalMax);
            PutF64(s, 200, h.CalMin);
            PutF64(s, 208, h.SliceDuration);
            PutF64(s, 216, h.TOffset);
            Put64(s, 224, h.SliceStart);
            Put64(s, 232, h.SliceEnd);
            h.DescriptionBytes.CopyTo(s[240..]);
            h.AuxFileBytes.CopyTo(s[320..]);
            Put32(s, 344, h.QformCode);
            Put32(s, 348, h.SformCode);
            PutF64(s, 352, h.QuaternB);
            PutF64(s, 360, h.QuaternC);
            PutF64(s, 368, h.QuaternD);
            PutF64(s, 376, h.QOffsetX);
            PutF64(s, 384, h.QOffsetY);
            PutF64(s, 392, h.QOffsetZ);
            for (int c = 0; c < 4; c++)
            {
                PutF64(s, 400 + 8 * c, h.SRowX[c]);
                PutF64(s, 432 + 8 * c, h.SRowY[c]);
                PutF64(s, 464 + 8 * c, h.SRowZ[c]);
            }
            Put32(s, 496, h.SliceCode);
            Put32(s, 500, h.XyztUnits);
            Put32(s, 504, h.IntentCode);
            h.IntentNameBytes.CopyTo(s[508..]);
            s[524] = h.DimInfo;
            h.UnusedBytes.CopyTo(s[525..]);
        }
        return bytes;
    }

    private static void CheckMagic(ReadOnlySpan<byte> magic, ReadOnlySpan<byte> single, ReadOnlySpan<byte> pair, string name)
    {
        if (magic.SequenceEqual(single)) return;
        string version = single[2] == (byte)'1' ? "NIfTI-1" : "NIfTI-2";
        if (magic.SequenceEqual(pair))
            throw new NiftiFormatException(name, $"a {version} header of a .hdr/.img pair: only single-file .nii images are supported");
        if (magic[..4].SequenceEqual(single[..4]))
            throw new NiftiFormatException(name, $"the {version} magic's line-ending check bytes are {Convert.ToHexString(magic[4..])}, not 0D0A1A0A (was the file converted as text?)");
        throw new NiftiFormatException(name, $"the magic is {Convert.ToHexString(magic)}, not {version}'s {Convert.ToHexString(single)} (an ANALYZE 7.5 file, or damaged)");
    }

    private static void Put16(Span<byte> s, int at, long value, string field)
    {
        if (value is < short.MinValue or > short.MaxValue)
            throw new ArgumentException($"{field} is {value}, out of NIfTI-1's 16-bit range: write NIfTI-2 (NiftiHeader.Version)");
        BinaryPrimitives.WriteInt16LittleEndian(s[at..], (short)value);
    }

    private static byte Byte(int value, string field) =>
        value is >= 0 and <= 255 ? (byte)value : throw new ArgumentException($"{field} is {value}, out of NIfTI-1's 8-bit range");

    private static void Put32(Span<byte> s, int at, int value) => BinaryPrimitives.WriteInt32LittleEndian(s[at..], value);

    private static void Put64(Span<byte> s, int at, long value) => BinaryPrimitives.WriteInt64LittleEndian(s[at..], value);

    private static void PutF32(Span<byte> s, int at, double value) => BinaryPrimitives.WriteSingleLittleEndian(s[at..], (float)value);

    private static void PutF64(Span<byte> s, int at, double value) => BinaryPrimitives.WriteDoubleLittleEndian(s[at..], value);

    /// <summary>Reads fields in the header's byte order.</summary>
    private readonly ref struct Fields(ReadOnlySpan<byte> bytes, bool bigEndian)
    {
        private readonly ReadOnlySpan<byte> _bytes = bytes;

        public short I16(int at) => bigEndian ? BinaryPrimitives.ReadInt16BigEndian(_bytes[at..]) : BinaryPrimitives.ReadInt16LittleEndian(_bytes[at..]);

        public int I32(int at) => bigEndian ? BinaryPrimitives.ReadInt32BigEndian(_bytes[at..]) : BinaryPrimitives.ReadInt32LittleEndian(_bytes[at..]);

        public long I64(int at) => bigEndian ? BinaryPrimitives.ReadInt64BigEndian(_bytes[at..]) : BinaryPrimitives.ReadInt64LittleEndian(_bytes[at..]);

        public float F32(int at) => bigEndian ? BinaryPrimitives.ReadSingleBigEndian(_bytes[at..]) : BinaryPrimitives.ReadSingleLittleEndian(_bytes[at..]);

        public double F64(int at) => bigEndian ? BinaryPrimitives.ReadDoubleBigEndian(_bytes[at..]) : BinaryPrimitives.ReadDoubleLittleEndian(_bytes[at..]);
    }
}
