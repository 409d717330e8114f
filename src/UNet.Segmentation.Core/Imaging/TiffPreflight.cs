using System.Buffers.Binary;

namespace UNet.Segmentation.Imaging;

/// <summary>
/// Bounds what LibTiff.NET allocates for a file before it reads it. LibTiff.NET sizes its arrays
/// from the directory as written: a tag's values from the tag's count, the strip or tile tables
/// from the image's geometry. A forged count or height in a small file thus makes it allocate
/// gigabytes (measured: 5 GB and 20 s for one 254-byte mutant) before any check of ours could
/// run. This walk of the directory chain refuses, with the page, a tag whose values lie past the
/// end of the file and a page whose geometry needs more strips or tiles than its offset table
/// holds. It decodes nothing and judges nothing else: LibTiff.NET and the reader do the rest.
/// </summary>
internal static class TiffPreflight
{
    private const ushort ImageWidth = 256, ImageLength = 257, SamplesPerPixel = 277, RowsPerStrip = 278, PlanarConfiguration = 284;
    private const ushort StripOffsets = 273, StripByteCounts = 279, TileWidth = 322, TileLength = 323, TileOffsets = 324, TileByteCounts = 325;

    private readonly record struct Entry(ushort Type, uint Count, int ValueField);

    /// <summary>Checks every directory of <paramref name="data"/>, whose 8-byte header is already known to be valid.</summary>
    public static void Check(string name, byte[] data, int maxPages)
    {
        bool little = data[0] == 'I';
        uint U32(long at) => little ? BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan((int)at)) : BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan((int)at));
        ushort U16(long at) => little ? BinaryPrimitives.ReadUInt16LittleEndian(data.AsSpan((int)at)) : BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan((int)at));
        var seen = new HashSet<long>();
        var entries = new Dictionary<ushort, Entry>();
        long offset = U32(4);
        for (int page = 1; page <= maxPages && offset != 0 && seen.Add(offset); page++)
        {
            // A directory that does not fit is LibTiff.NET's to report (it allocates nothing for it).
            if (offset > data.Length - 2) return;
            int count = U16(offset);
            if (offset + 2 + 12L * count + 4 > data.Length) return;
            entries.Clear();
            for (int i = 0; i < count; i++)
            {
                long at = offset + 2 + 12L * i;
                ushort tag = U16(at), type = U16(at + 2);
                uint values = U32(at + 4);
                long bytes = values * (long)TypeSize(type);
                if (bytes > 4 && U32(at + 8) + bytes > data.Length)
                    throw new TiffFormatException(name, page, $"tag {tag}{TagName(tag)} declares {values} values at offset {U32(at + 8)}, past the end of the file ({data.Length} bytes); the file is truncated or damaged", null);
                entries.TryAdd(tag, new Entry(type, values, (int)at + 8));
            }
            CheckChunkTables(name, page, entries, U16, U32);
            offset = U32(offset + 2 + 12L * count);
        }
    }

    /// <summary>The strips or tiles the geometry needs must each have an offset (and a byte count, when given).</summary>
    private static void CheckChunkTables(string name, int page, Dictionary<ushort, Entry> entries, Func<long, ushort> u16, Func<long, uint> u32)
    {
        long? Scalar(ushort tag)
        {
            if (!entries.TryGetValue(tag, out var e) || e.Count == 0) return null;
            return e.Type switch
            {
                3 => e.Count <= 2 ? u16(e.ValueField) : u16(u32(e.ValueField)),
                4 => e.Count == 1 ? u32(e.ValueField) : u32(u32(e.ValueField)),
                _ => null, // other types: LibTiff.NET refuses or converts them; nothing to bound here
            };
        }
        long width = Scalar(ImageWidth) ?? 0, height = Scalar(ImageLength) ?? 0;
        if (width <= 0 || height <= 0) return; // LibTiff.NET reports it
        long planes = Scalar(PlanarConfiguration) == 2 ? Math.Max(1, Scalar(SamplesPerPixel) ?? 1) : 1;
        bool tiled = entries.ContainsKey(TileWidth) || entries.ContainsKey(TileLength) || entries.ContainsKey(TileOffsets);
        long chunks;
        if (tiled)
        {
            long tileWidth = Scalar(TileWidth) ?? 0, tileHeight = Scalar(TileLength) ?? 0;
            if (tileWidth <= 0 || tileHeight <= 0) return;
            chunks = (width + tileWidth - 1) / tileWidth * ((height + tileHeight - 1) / tileHeight) * planes;
        }
        else
        {
            long rows = Scalar(RowsPerStrip) ?? height;
            if (rows <= 0 || rows > height) rows = height;
            chunks = (height + rows - 1) / rows * planes;
        }
        (ushort offsets, ushort counts, string what) = tiled ? (TileOffsets, TileByteCounts, "TileOffsets") : (StripOffsets, StripByteCounts, "StripOffsets");
        if (!entries.TryGetValue(offsets, out var table)) return; // LibTiff.NET reports the missing tag
        if (table.Count < chunks)
            throw new TiffFormatException(name, page, $"{what} has {table.Count} values but the page's size needs {chunks}", null);
        if (entries.TryGetValue(counts, out var sizes) && sizes.Count < chunks)
            throw new TiffFormatException(name, page, $"{(tiled ? "TileByteCounts" : "StripByteCounts")} has {sizes.Count} values but the page's size needs {chunks}", null);
    }

    private static string TagName(ushort tag) =>
        Enum.IsDefined((BitMiracle.LibTiff.Classic.TiffTag)tag) ? $" ({(BitMiracle.LibTiff.Classic.TiffTag)tag})" : "";

    /// <summary>Bytes per value of a TIFF field type (TIFF 6.0, section 2), or 0 for an unknown type.</summary>
    private static int TypeSize(ushort type) => type switch
    {
        1 or 2 or 6 or 7 => 1,   // BYTE, ASCII, SBYTE, UNDEFINED
        3 or 8 => 2,             // SHORT, SSHORT
        4 or 9 or 11 or 13 => 4, // LONG, SLONG, FLOAT, IFD
        5 or 10 or 12 => 8,      // RATIONAL, SRATIONAL, DOUBLE
        16 or 17 or 18 => 8,     // LONG8, SLONG8, IFD8 (BigTIFF types; LibTiff.NET reads them in classic files too)
        _ => 0,
    };
}
