using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using UNet.Segmentation.Imaging.Nifti;

namespace UNet.Segmentation.Tests.Imaging.Nifti;

/// <summary>
/// Voxels, headers and files for the NIfTI tests: random bits of every kind with each type's
/// extremes, a header with every field set, byte-order swapping and extension insertion on the
/// bytes of a file, and the header as nibabel names its fields (so our header, a header read back
/// and nibabel's view of a file compare as one dictionary).
/// </summary>
internal static class NiftiTestFiles
{
    public static readonly NiftiDataType[] Types = Enum.GetValues<NiftiDataType>();

    /// <summary>Random bits (NaNs, infinities and subnormals among the floats) with the type's extremes first.</summary>
    public static Array Voxels(NiftiDataType type, int count, int seed)
    {
        var data = NiftiDataTypes.Allocate(type, count);
        new Random(seed).NextBytes(Bytes(data));
        object[] extremes = type switch
        {
            NiftiDataType.UInt8 => [byte.MinValue, byte.MaxValue],
            NiftiDataType.Int8 => [sbyte.MinValue, sbyte.MaxValue],
            NiftiDataType.Int16 => [short.MinValue, short.MaxValue],
            NiftiDataType.UInt16 => [ushort.MinValue, ushort.MaxValue],
            NiftiDataType.Int32 => [int.MinValue, int.MaxValue],
            NiftiDataType.UInt32 => [uint.MinValue, uint.MaxValue],
            NiftiDataType.Int64 => [long.MinValue, long.MaxValue],
            NiftiDataType.Float32 => [float.NaN, float.PositiveInfinity, float.NegativeInfinity, -0f, float.Epsilon, float.MaxValue],
            _ => [double.NaN, double.PositiveInfinity, double.NegativeInfinity, -0d, double.Epsilon, double.MaxValue],
        };
        for (int i = 0; i < extremes.Length && i < count; i++) data.SetValue(extremes[i], i);
        return data;
    }

    /// <summary>The bytes of an array of voxels (in place).</summary>
    public static Span<byte> Bytes(Array data) =>
        MemoryMarshal.CreateSpan(ref MemoryMarshal.GetArrayDataReference(data), data.Length * Marshal.SizeOf(data.GetType().GetElementType()!));

    /// <summary>A header with every field set to a value of its own (the ANALYZE leftovers of NIfTI-1 too).</summary>
    public static NiftiHeader RichHeader(NiftiVersion version, params int[] shape)
    {
        var h = new NiftiHeader { Version = version };
        h.SetShape(shape);
        h.Dim[7] = 5; // past dim[0]: meaningless, kept
        h.DimInfo = 0x39;
        h.IntentCode = 1002;
        h.IntentP1 = 1.5;
        h.IntentP2 = -2.25;
        h.IntentP3 = 1e-3;
        h.IntentName = "rich intent";
        h.SliceCode = 3;
        h.SliceStart = 1;
        h.SliceEnd = 2;
        h.SliceDuration = 0.125;
        h.TOffset = -4.5;
        h.CalMin = -100;
        h.CalMax = 900.25;
        h.XyztUnits = 2 | 8;
        h.Description = "rich header: every field set";
        h.AuxFile = "aux.nii";
        h.QformCode = 1;
        h.SformCode = 3;
        h.QuaternB = 0.1;
        h.QuaternC = -0.2;
        h.QuaternD = 0.3;
        h.QOffsetX = 10.5;
        h.QOffsetY = -20.25;
        h.QOffsetZ = 30;
        double[] pixdim = [-1, 0.8, 0.9, 2.5, 3, 1, 1, 1];
        pixdim.CopyTo(h.PixDim, 0);
        double[][] rows = [[0.8, 0.01, -0.02, -90.5], [0.03, 0.9, 0.04, 120.25], [-0.05, 0.06, 2.5, -60]];
        rows[0].CopyTo(h.SRowX, 0);
        rows[1].CopyTo(h.SRowY, 0);
        rows[2].CopyTo(h.SRowZ, 0);
        h.SclSlope = 0.75;
        h.SclInter = -12;
        if (version == NiftiVersion.Nifti1)
        {
            h.AnalyzeDataType = "dtname";
            h.AnalyzeDbName = "database";
            h.Extents = 16384;
            h.SessionError = 7;
            h.Regular = (byte)'r';
            h.GlMax = 255;
            h.GlMin = -3;
        }
        else
        {
            "xyz"u8.CopyTo(h.UnusedBytes);
        }
        return h;
    }

    /// <summary>
    /// The header's fields by nibabel's names, as a file of its version stores them: floats
    /// narrowed for NIfTI-1; integers as long, floats as double, text as string, arrays as
    /// long[] or double[]. <paramref name="voxOffset"/> stands for the one the file has.
    /// </summary>
    public static Dictionary<string, object> Fields(NiftiHeader h, long voxOffset)
    {
        bool v1 = h.Version == NiftiVersion.Nifti1;
        double F(double x) => v1 ? (float)x : x;
        var d = new Dictionary<string, object>
        {
            ["sizeof_hdr"] = (long)(v1 ? 348 : 540),
            ["magic"] = v1 ? "n+1" : "n+2",
            ["dim_info"] = (long)h.DimInfo,
            ["dim"] = h.Dim.ToArray(),
            ["intent_p1"] = F(h.IntentP1),
            ["intent_p2"] = F(h.IntentP2),
            ["intent_p3"] = F(h.IntentP3),
            ["intent_code"] = (long)h.IntentCode,
            ["datatype"] = (long)(short)h.DataType,
            ["bitpix"] = (long)h.BitsPerVoxel,
            ["slice_start"] = h.SliceStart,
            ["pixdim"] = h.PixDim.Select(F).ToArray(),
            ["vox_offset"] = v1 ? (object)(double)voxOffset : voxOffset,
            ["scl_slope"] = F(h.SclSlope),
            ["scl_inter"] = F(h.SclInter),
            ["slice_end"] = h.SliceEnd,
            ["slice_code"] = (long)h.SliceCode,
            ["xyzt_units"] = (long)h.XyztUnits,
            ["cal_max"] = F(h.CalMax),
            ["cal_min"] = F(h.CalMin),
            ["slice_duration"] = F(h.SliceDuration),
            ["toffset"] = F(h.TOffset),
            ["descrip"] = h.Description,
            ["aux_file"] = h.AuxFile,
            ["qform_code"] = (long)h.QformCode,
            ["sform_code"] = (long)h.SformCode,
            ["quatern_b"] = F(h.QuaternB),
            ["quatern_c"] = F(h.QuaternC),
            ["quatern_d"] = F(h.QuaternD),
            ["qoffset_x"] = F(h.QOffsetX),
            ["qoffset_y"] = F(h.QOffsetY),
            ["qoffset_z"] = F(h.QOffsetZ),
            ["srow_x"] = h.SRowX.Select(F).ToArray(),
            ["srow_y"] = h.SRowY.Select(F).ToArray(),
            ["srow_z"] = h.SRowZ.Select(F).ToArray(),
            ["intent_name"] = h.IntentName,
        };
        if (v1)
        {
            d["data_type"] = h.AnalyzeDataType;
            d["db_name"] = h.AnalyzeDbName;
            d["extents"] = (long)h.Extents;
            d["session_error"] = (long)h.SessionError;
            d["regular"] = h.Regular == 0 ? "" : ((char)h.Regular).ToString();
            d["glmax"] = (long)h.GlMax;
            d["glmin"] = (long)h.GlMin;
        }
        else
        {
            d["eol_check"] = new long[] { 13, 10, 26, 10 };
            d["unused_str"] = Encoding.Latin1.GetString(h.UnusedBytes).TrimEnd('\0');
        }
        return d;
    }

    /// <summary>nibabel's header JSON (nifti_oracle.py) in the types of <paramref name="template"/>; keys it lacks are kept as JSON text.</summary>
    public static Dictionary<string, object> FromJson(JsonElement header, IReadOnlyDictionary<string, object> template)
    {
        var d = new Dictionary<string, object>();
        foreach (var p in header.EnumerateObject())
        {
            var kind = p.Value.ValueKind;
            var first = kind == JsonValueKind.Array ? p.Value.EnumerateArray().FirstOrDefault().ValueKind : JsonValueKind.Undefined;
            d[p.Name] = template.GetValueOrDefault(p.Name) switch
            {
                long when kind == JsonValueKind.Number => p.Value.GetInt64(),
                double when kind == JsonValueKind.String => ParseDouble(p.Value.GetString()!),
                string when kind == JsonValueKind.String => p.Value.GetString()!,
                long[] when first == JsonValueKind.Number => p.Value.EnumerateArray().Select(e => e.GetInt64()).ToArray(),
                double[] when first == JsonValueKind.String => p.Value.EnumerateArray().Select(e => ParseDouble(e.GetString()!)).ToArray(),
                _ => "JSON " + p.Value.GetRawText(), // of another kind than ours: shown as a difference
            };
        }
        return d;
    }

    public static double ParseDouble(string text) => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);

    /// <summary>The fields that differ (or that one side lacks), apart from <paramref name="ignore"/>; NaN equals NaN, -0 differs from 0.</summary>
    public static List<string> Differences(IReadOnlyDictionary<string, object> expected, IReadOnlyDictionary<string, object> actual, params string[] ignore)
    {
        var differences = new List<string>();
        foreach (var key in expected.Keys.Union(actual.Keys).Except(ignore).Order(StringComparer.Ordinal))
        {
            if (!expected.TryGetValue(key, out var e)) differences.Add($"{key}: unexpected ({Show(actual[key])})");
            else if (!actual.TryGetValue(key, out var a)) differences.Add($"{key}: missing (expected {Show(e)})");
            else if (!Same(e, a)) differences.Add($"{key}: expected {Show(e)}, got {Show(a)}");
        }
        return differences;
    }

    private static bool Same(object e, object a) => (e, a) switch
    {
        (double x, double y) => SameDouble(x, y),
        (double[] x, double[] y) => x.Length == y.Length && x.Zip(y).All(p => SameDouble(p.First, p.Second)),
        (long[] x, long[] y) => x.SequenceEqual(y),
        _ => Equals(e, a),
    };

    private static bool SameDouble(double x, double y) =>
        double.IsNaN(x) ? double.IsNaN(y) : BitConverter.DoubleToInt64Bits(x) == BitConverter.DoubleToInt64Bits(y);

    private static string Show(object value) => value switch
    {
        double[] xs => "[" + string.Join(", ", xs.Select(x => x.ToString("R", CultureInfo.InvariantCulture))) + "]",
        long[] xs => "[" + string.Join(", ", xs) + "]",
        double x => x.ToString("R", CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "null",
    };

    /// <summary>The file's bytes, decompressed when gzipped.</summary>
    public static byte[] Plain(byte[] file)
    {
        if (file.Length < 2 || file[0] != 0x1f || file[1] != 0x8b) return file;
        using var gzip = new GZipStream(new MemoryStream(file), CompressionMode.Decompress);
        using var plain = new MemoryStream();
        gzip.CopyTo(plain);
        return plain.ToArray();
    }

    public static byte[] Gzip(byte[] plain)
    {
        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true)) gzip.Write(plain);
        return compressed.ToArray();
    }

    public static byte[] ToBytes(NiftiImage image, bool gzip = false)
    {
        using var stream = new MemoryStream();
        NiftiFile.Write(stream, image, gzip);
        return stream.ToArray();
    }

    /// <summary>(offset, size, count) of every numeric field of the NIfTI-1 header.</summary>
    private static readonly (int At, int Size, int Count)[] Nifti1Numbers =
        [(0, 4, 1), (32, 4, 1), (36, 2, 1), (40, 2, 8), (56, 4, 3), (68, 2, 4), (76, 4, 8), (108, 4, 3), (120, 2, 1), (124, 4, 4), (140, 4, 2), (252, 2, 2), (256, 4, 18)];

    /// <summary>(offset, size, count) of every numeric field of the NIfTI-2 header.</summary>
    private static readonly (int At, int Size, int Count)[] Nifti2Numbers =
        [(0, 4, 1), (12, 2, 2), (16, 8, 8), (80, 8, 3), (104, 8, 8), (168, 8, 1), (176, 8, 6), (224, 8, 2), (344, 4, 2), (352, 8, 18), (496, 4, 3)];

    /// <summary>The big-endian twin of an uncompressed little-endian file: every header number, extension header and voxel swapped.</summary>
    public static byte[] ToBigEndian(byte[] little)
    {
        var bytes = (byte[])little.Clone();
        bool v1 = BinaryPrimitives.ReadInt32LittleEndian(bytes) == 348;
        long voxOffset = v1 ? (long)BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(108)) : BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(168));
        int itemSize = BinaryPrimitives.ReadInt16LittleEndian(bytes.AsSpan(v1 ? 72 : 14)) / 8;
        foreach (var (at, size, count) in v1 ? Nifti1Numbers : Nifti2Numbers)
            for (int i = 0; i < count; i++) bytes.AsSpan(at + i * size, size).Reverse();
        int header = v1 ? 348 : 540;
        if (bytes[header] != 0)
        {
            for (int at = header + 4; at + 8 <= voxOffset;)
            {
                int size = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(at));
                bytes.AsSpan(at, 4).Reverse();
                bytes.AsSpan(at + 4, 4).Reverse();
                if (size < 16) break;
                at += size;
            }
        }
        for (long at = voxOffset; at + itemSize <= bytes.Length; at += itemSize) bytes.AsSpan((int)at, itemSize).Reverse();
        return bytes;
    }

    /// <summary>An uncompressed little-endian NIfTI-1 file with an extension (ecode 6, a comment) between header and voxels: vox_offset moves past it.</summary>
    public static byte[] WithExtension(byte[] nifti1, string comment)
    {
        int header = 348, oldOffset = 352;
        var text = Encoding.ASCII.GetBytes(comment);
        int size = (8 + text.Length + 15) / 16 * 16;
        var extension = new byte[size];
        BinaryPrimitives.WriteInt32LittleEndian(extension, size);
        BinaryPrimitives.WriteInt32LittleEndian(extension.AsSpan(4), 6);
        text.CopyTo(extension, 8);
        byte[] result = [.. nifti1[..oldOffset], .. extension, .. nifti1[oldOffset..]];
        result[header] = 1;
        BinaryPrimitives.WriteSingleLittleEndian(result.AsSpan(108), oldOffset + size);
        return result;
    }

    /// <summary>A stream that cannot seek and hands out at most 7 bytes a read, as a network stream might.</summary>
    public sealed class Trickle(byte[] bytes) : Stream
    {
        private readonly MemoryStream _inner = new(bytes);

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, Math.Min(count, 7));

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
