using System.Buffers;
using System.Runtime.InteropServices;

namespace UNet.Segmentation.Imaging;

/// <summary>
/// Reads a whole TIFF held in memory: walks the IFD chain, checks every page before allocating,
/// then decodes each strip or tile into one array for the volume.
/// </summary>
internal static class TiffReader
{
    public static IReadOnlyList<TiffPageInfo> ReadInfo(TiffSource source) =>
        Layouts(source).Select(layout => layout.Info).ToList();

    public static TiffVolume Read(TiffSource source)
    {
        var layouts = Layouts(source);
        var first = layouts[0].Info;
        int pages = layouts.Count, height = first.Height, width = first.Width;
        long total = (long)pages * height * width;
        if (total > Array.MaxLength)
            throw source.Fail($"{pages} pages of {width}x{height} are {total} samples, more than one array can hold");
        long totalBytes = 0, totalChunks = 0;
        foreach (var layout in layouts)
        {
            totalBytes += layout.PageBytes;
            totalChunks += layout.ChunkCount;
        }
        int ratio = layouts.Max(l => TiffCompressionCodes.MaxRatio(l.Info.Compression));
        if (totalBytes > source.Length * ratio + 1024 * totalChunks)
            throw source.Fail($"the pages declare {totalBytes} bytes of pixels, more than a {source.Length}-byte file can hold; the sizes are forged or the file truncated");

        switch (first.SampleFormat)
        {
            case TiffSampleFormat.UInt8:
                var bytes = new byte[total];
                DecodeAll<byte>(source, layouts, bytes);
                return new TiffVolume(pages, height, width, bytes);
            case TiffSampleFormat.UInt16:
                var words = new ushort[total];
                DecodeAll<ushort>(source, layouts, words);
                return new TiffVolume(pages, height, width, words);
            default:
                var floats = new float[total];
                DecodeAll<float>(source, layouts, floats);
                return new TiffVolume(pages, height, width, floats);
        }
    }

    private static List<TiffPageLayout> Layouts(TiffSource source)
    {
        var layouts = new List<TiffPageLayout>();
        foreach (var ifd in TiffIfd.ReadChain(source))
        {
            var layout = TiffPageLayout.Create(source, ifd);
            if (layouts.Count > 0)
            {
                var a = layouts[0].Info;
                var b = layout.Info;
                if (a.Width != b.Width || a.Height != b.Height || a.SampleFormat != b.SampleFormat)
                    throw source.Fail($"page {b.PageIndex + 1} is {b.Width}x{b.Height} {b.SampleFormat} but page 1 is {a.Width}x{a.Height} {a.SampleFormat}; all pages of a volume must share one size and sample format");
            }
            layouts.Add(layout);
        }
        return layouts;
    }

    private static void DecodeAll<T>(TiffSource source, List<TiffPageLayout> layouts, T[] samples)
        where T : unmanaged
    {
        int perPage = layouts[0].Info.Width * layouts[0].Info.Height;
        for (int p = 0; p < layouts.Count; p++)
            DecodePage(source, layouts[p], MemoryMarshal.AsBytes(samples.AsSpan(p * perPage, perPage)));
    }

    private static void DecodePage(TiffSource source, TiffPageLayout layout, Span<byte> page)
    {
        var info = layout.Info;
        int bytesPerSample = layout.BytesPerSample, pageRowBytes = info.Width * bytesPerSample;
        bool predictor = info.Predictor == 2 && info.Compression is TiffCompression.Lzw or TiffCompression.Deflate;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(layout.MaxChunkBytes);
        try
        {
            for (int c = 0; c < layout.ChunkCount; c++)
            {
                var (x, y, columns, rows) = layout.Region(c);
                var chunk = buffer.AsSpan(0, layout.NeededBytes(c));
                int got;
                try
                {
                    got = TiffDecompression.Decompress(info.Compression, source.Data, (int)layout.Offsets[c], (int)layout.Counts[c], chunk);
                }
                catch (TiffCodecException e)
                {
                    throw source.Fail($"{layout.ChunkName(c)}: {e.Message}", e);
                }
                if (got < chunk.Length)
                    throw source.Fail($"{layout.ChunkName(c)} decompressed to {got} bytes but {chunk.Length} are needed; the data is truncated or damaged");
                TiffDecompression.ToMachineOrder(chunk, bytesPerSample, source.LittleEndian);
                if (predictor) TiffDecompression.UndoHorizontalDifferencing(chunk, layout.ChunkWidth, bytesPerSample);
                int rowBytes = columns * bytesPerSample;
                if (columns == info.Width)
                {
                    chunk.CopyTo(page.Slice(y * pageRowBytes, chunk.Length));
                    continue;
                }
                for (int r = 0; r < rows; r++)
                    chunk.Slice(r * layout.ChunkRowBytes, rowBytes).CopyTo(page.Slice((y + r) * pageRowBytes + x * bytesPerSample, rowBytes));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        if (info.WhiteIsZero) TiffDecompression.InvertWhiteIsZero(page, bytesPerSample);
    }
}
