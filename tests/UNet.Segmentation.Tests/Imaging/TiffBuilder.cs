using System.Buffers.Binary;

namespace UNet.Segmentation.Tests.Imaging;

/// <summary>
/// Builds TIFF bytes tag by tag, independently of the library's writer, so that tests can make
/// files with any layout, byte order or defect. Strip (or tile) offsets and byte counts are
/// filled in from <see cref="BuilderPage.Chunks"/> unless a test sets those tags itself.
/// </summary>
internal sealed class TiffBuilder
{
    public const ushort Byte = 1, Short = 3, Long = 4, Rational = 5;

    public bool BigEndian { get; init; }

    public List<BuilderPage> Pages { get; } = [];

    /// <summary>Where each page's IFD landed in the last <see cref="Build"/>.</summary>
    public List<int> IfdOffsets { get; } = [];

    /// <summary>Where each IFD's next-IFD field landed in the last <see cref="Build"/>.</summary>
    public List<int> NextFieldOffsets { get; } = [];

    public TiffBuilder Add(BuilderPage page)
    {
        Pages.Add(page);
        return this;
    }

    public byte[] Build()
    {
        IfdOffsets.Clear();
        NextFieldOffsets.Clear();
        var bytes = new List<byte>();
        bytes.AddRange(BigEndian ? "MM"u8.ToArray() : "II"u8.ToArray());
        bytes.AddRange(U16(42));
        bytes.AddRange(U32(0)); // patched below
        var tagsPerPage = new List<SortedDictionary<ushort, (ushort Type, long[] Values)>>();
        foreach (var page in Pages)
        {
            var offsets = new List<long>();
            foreach (var chunk in page.Chunks)
            {
                offsets.Add(bytes.Count);
                bytes.AddRange(chunk);
            }
            var tags = new SortedDictionary<ushort, (ushort, long[])>(page.Tags);
            ushort offsetsTag = page.Tiled ? (ushort)324 : (ushort)273, countsTag = page.Tiled ? (ushort)325 : (ushort)279;
            if (page.Chunks.Count > 0 && !tags.ContainsKey(offsetsTag)) tags[offsetsTag] = (Long, offsets.ToArray());
            if (page.Chunks.Count > 0 && page.AutoByteCounts && !tags.ContainsKey(countsTag))
                tags[countsTag] = (Long, page.Chunks.Select(c => (long)c.Length).ToArray());
            tagsPerPage.Add(tags);
        }
        for (int p = 0; p < Pages.Count; p++)
        {
            if (bytes.Count % 2 == 1) bytes.Add(0);
            var tags = tagsPerPage[p];
            int at = bytes.Count, extraAt = at + 2 + 12 * tags.Count + 4;
            IfdOffsets.Add(at);
            var ifd = new List<byte>(U16(tags.Count));
            var extra = new List<byte>();
            foreach (var (tag, (type, values)) in tags)
            {
                ifd.AddRange(U16(tag));
                ifd.AddRange(U16(type));
                ifd.AddRange(U32(values.Length));
                var data = values.SelectMany(v => Value(type, v)).ToList();
                if (data.Count <= 4)
                {
                    while (data.Count < 4) data.Add(0);
                    ifd.AddRange(data);
                }
                else
                {
                    ifd.AddRange(U32(extraAt + extra.Count));
                    extra.AddRange(data);
                }
            }
            NextFieldOffsets.Add(at + ifd.Count);
            ifd.AddRange(U32(0)); // patched below
            bytes.AddRange(ifd);
            bytes.AddRange(extra);
        }
        var result = bytes.ToArray();
        if (IfdOffsets.Count > 0) Patch(result, 4, IfdOffsets[0]);
        for (int p = 0; p + 1 < IfdOffsets.Count; p++) Patch(result, NextFieldOffsets[p], IfdOffsets[p + 1]);
        return result;
    }

    /// <summary>Writes a 32-bit value in the builder's byte order.</summary>
    public void Patch(byte[] file, int at, long value)
    {
        if (BigEndian) BinaryPrimitives.WriteUInt32BigEndian(file.AsSpan(at), (uint)value);
        else BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(at), (uint)value);
    }

    /// <summary>Samples as bytes in the builder's byte order.</summary>
    public byte[] Samples(ushort[] values) => values.SelectMany(v => U16(v)).ToArray();

    public byte[] Samples(float[] values) => values.SelectMany(v => U32(BitConverter.SingleToUInt32Bits(v))).ToArray();

    private byte[] Value(ushort type, long v) => type switch
    {
        Byte => [(byte)v],
        Short => U16(v),
        Rational => [.. U32(v), .. U32(1)],
        _ => U32(v),
    };

    private byte[] U16(long v)
    {
        var b = new byte[2];
        if (BigEndian) BinaryPrimitives.WriteUInt16BigEndian(b, (ushort)v);
        else BinaryPrimitives.WriteUInt16LittleEndian(b, (ushort)v);
        return b;
    }

    private byte[] U32(long v)
    {
        var b = new byte[4];
        if (BigEndian) BinaryPrimitives.WriteUInt32BigEndian(b, (uint)v);
        else BinaryPrimitives.WriteUInt32LittleEndian(b, (uint)v);
        return b;
    }
}

/// <summary>One page for <see cref="TiffBuilder"/>: its tags and its strips or tiles.</summary>
internal sealed class BuilderPage
{
    public SortedDictionary<ushort, (ushort Type, long[] Values)> Tags { get; } = [];

    public List<byte[]> Chunks { get; } = [];

    public bool Tiled { get; set; }

    /// <summary>False to leave StripByteCounts out unless set explicitly.</summary>
    public bool AutoByteCounts { get; set; } = true;

    public BuilderPage Set(ushort tag, ushort type, params long[] values)
    {
        Tags[tag] = (type, values);
        return this;
    }

    public BuilderPage Remove(ushort tag)
    {
        Tags.Remove(tag);
        return this;
    }

    /// <summary>A greyscale page: ImageWidth, ImageLength, BitsPerSample, Compression, Photometric 1, SamplesPerPixel 1, RowsPerStrip.</summary>
    public static BuilderPage Gray(int width, int height, int bits, int compression = 1, int? rowsPerStrip = null, int sampleFormat = 1)
    {
        var page = new BuilderPage()
            .Set(256, TiffBuilder.Long, width).Set(257, TiffBuilder.Long, height).Set(258, TiffBuilder.Short, bits)
            .Set(259, TiffBuilder.Short, compression).Set(262, TiffBuilder.Short, 1).Set(277, TiffBuilder.Short, 1)
            .Set(278, TiffBuilder.Long, rowsPerStrip ?? height);
        if (sampleFormat != 1) page.Set(339, TiffBuilder.Short, sampleFormat);
        return page;
    }

    /// <summary>Adds strips cut from <paramref name="data"/> (rowsPerStrip × rowBytes each, the last shorter).</summary>
    public BuilderPage Strips(byte[] data, int rowBytes, int rowsPerStrip, Func<byte[], byte[]>? encode = null)
    {
        int stripBytes = rowBytes * rowsPerStrip;
        for (int at = 0; at < data.Length; at += stripBytes)
        {
            var strip = data.AsSpan(at, Math.Min(stripBytes, data.Length - at)).ToArray();
            Chunks.Add(encode is null ? strip : encode(strip));
        }
        return this;
    }
}
