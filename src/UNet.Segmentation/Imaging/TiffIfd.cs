namespace UNet.Segmentation.Imaging;

/// <summary>
/// One image file directory (IFD): its entries by tag, whose values are read on demand from the
/// file's bytes. <see cref="ReadChain"/> walks a file's chain of IFDs, one per page.
/// </summary>
internal sealed class TiffIfd
{
    /// <summary>The most pages a file may have; more is taken as a damaged chain.</summary>
    public const int MaxPages = 100_000;

    private readonly TiffSource _source;
    private readonly Dictionary<ushort, Entry> _entries;

    private TiffIfd(TiffSource source, int pageIndex, long offset, long nextOffset, Dictionary<ushort, Entry> entries)
    {
        _source = source;
        PageIndex = pageIndex;
        Offset = offset;
        NextOffset = nextOffset;
        _entries = entries;
    }

    private readonly record struct Entry(ushort Type, uint Count, long ValueField);

    public int PageIndex { get; }

    public long Offset { get; }

    public long NextOffset { get; }

    private string Page => $"page {PageIndex + 1}";

    /// <summary>Reads the header and every IFD of the chain, refusing loops and absurd page counts.</summary>
    public static List<TiffIfd> ReadChain(TiffSource source)
    {
        long offset = source.ReadHeader();
        var pages = new List<TiffIfd>();
        var seen = new HashSet<long>();
        while (offset != 0)
        {
            if (pages.Count >= MaxPages) throw source.Fail($"the IFD chain has more than {MaxPages} pages");
            if (!seen.Add(offset))
                throw source.Fail($"the IFD chain loops: page {pages.Count} points back to the directory at offset {offset}");
            var ifd = Parse(source, offset, pages.Count);
            pages.Add(ifd);
            offset = ifd.NextOffset;
        }
        return pages;
    }

    private static TiffIfd Parse(TiffSource source, long offset, int pageIndex)
    {
        string what = $"the IFD of page {pageIndex + 1}";
        source.Require(offset, 2, what);
        int count = source.U16(offset);
        if (count == 0) throw source.Fail($"{what} (offset {offset}) has no entries");
        source.Require(offset + 2, 12L * count + 4, what);
        var entries = new Dictionary<ushort, Entry>(count);
        for (int i = 0; i < count; i++)
        {
            long at = offset + 2 + 12L * i;
            entries.TryAdd(source.U16(at), new Entry(source.U16(at + 2), source.U32(at + 4), at + 8));
        }
        long next = source.U32(offset + 2 + 12L * count);
        return new TiffIfd(source, pageIndex, offset, next, entries);
    }

    public bool Has(ushort tag) => _entries.ContainsKey(tag);

    /// <summary>The tag's first value, or null when it is absent.</summary>
    public long? Scalar(ushort tag)
    {
        if (!_entries.TryGetValue(tag, out var entry)) return null;
        if (entry.Count == 0) throw _source.Fail($"{Page}: {TiffTags.Name(tag)} has no values");
        return _source.Integer(entry.Type, DataOffset(tag, entry, 1));
    }

    /// <summary>The tag's first value, or <paramref name="fallback"/> when it is absent.</summary>
    public long Scalar(ushort tag, long fallback) => Scalar(tag) ?? fallback;

    /// <summary>The tag's first <paramref name="needed"/> values; fails when it has fewer.</summary>
    public long[] Array(ushort tag, long needed)
    {
        if (!_entries.TryGetValue(tag, out var entry)) throw _source.Fail($"{Page}: the {TiffTags.Name(tag)} tag is missing");
        if (entry.Count < needed)
            throw _source.Fail($"{Page}: {TiffTags.Name(tag)} has {entry.Count} values but the page needs {needed}");
        long at = DataOffset(tag, entry, needed);
        int size = TiffFieldType.IntegerSize(entry.Type);
        var values = new long[needed];
        for (long i = 0; i < needed; i++) values[i] = _source.Integer(entry.Type, at + i * size);
        return values;
    }

    /// <summary>Where the tag's values start, checking that the first <paramref name="used"/> of them lie inside the file.</summary>
    private long DataOffset(ushort tag, Entry entry, long used)
    {
        int size = TiffFieldType.IntegerSize(entry.Type);
        if (size == 0) throw _source.Fail($"{Page}: {TiffTags.Name(tag)} has field type {entry.Type}, not an integer type");
        long total = (long)entry.Count * size;
        long at = total <= 4 ? entry.ValueField : _source.U32(entry.ValueField);
        _source.Require(at, used * size, $"{Page}: the values of {TiffTags.Name(tag)}");
        return at;
    }
}
