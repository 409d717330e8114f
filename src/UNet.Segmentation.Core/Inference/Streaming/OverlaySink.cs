using UNet.Segmentation.Imaging;
using UNet.Segmentation.Visualization;

namespace UNet.Segmentation.Inference.Streaming;

/// <summary>
/// Passes every page on to another sink and also writes, into a folder (when one is given), one RGB PNG per page,
/// <c>{stem}-{page:D4}.png</c>: the slice with its predicted membranes tinted
/// (<see cref="Overlays.Blend"/>); counts the interior pixels of the pages written.
/// </summary>
public sealed class OverlaySink : VolumeSink
{
    private readonly VolumeSink _inner;
    private readonly string? _folder;
    private readonly string _stem;
    private readonly List<string> _overlays = [];

    /// <summary>Wraps <paramref name="inner"/>; the PNGs go into <paramref name="folder"/> (made as needed; null: only count).</summary>
    public OverlaySink(VolumeSink inner, string? folder, string stem)
    {
        ArgumentNullException.ThrowIfNull(inner);
        if (folder is not null) ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        ArgumentException.ThrowIfNullOrWhiteSpace(stem);
        (_inner, _folder, _stem) = (inner, folder is null ? null : Path.GetFullPath(folder), stem);
    }

    /// <summary>The volume's page number of this sink's page 0 (a rank's share): it numbers the PNGs and the messages.</summary>
    internal int FirstPage { get; init; }

    /// <summary>The PNGs written by this run, in page order.</summary>
    public IReadOnlyList<string> OverlayPaths => _overlays;

    /// <summary>Interior (mask 255) pixels of the pages written by this run.</summary>
    public long InteriorPixels { get; private set; }

    /// <inheritdoc/>
    public override IReadOnlyList<string> OutputPaths => _folder is null ? _inner.OutputPaths : [.. _inner.OutputPaths, _folder];

    /// <inheritdoc/>
    public override int Begin(VolumeLayout layout, string signature)
    {
        int done = _inner.Begin(layout, signature);
        if (_folder is null) return done;
        try
        {
            Directory.CreateDirectory(_folder);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new VolumeOutputException(_folder, done + 1, $"the overlay folder could not be made ({e.Message})", e);
        }
        return done;
    }

    /// <inheritdoc/>
    public override void WritePage(VolumePage page, ReadOnlySpan<float> interior, ReadOnlySpan<byte> mask)
    {
        ArgumentNullException.ThrowIfNull(page);
        WriteOverlay(page, mask); // first: a page the inner sink reports complete on resuming has its overlay
        _inner.WritePage(page, interior, mask);
        foreach (byte m in mask) if (m != 0) InteriorPixels++;
    }

    private void WriteOverlay(VolumePage page, ReadOnlySpan<byte> mask)
    {
        if (_folder is null) return;
        string path = Path.Combine(_folder, $"{_stem}-{FirstPage + page.Index:D4}.png");
        try
        {
            Png.WriteRgb(path, Overlays.Blend(page.Pixels, mask), page.Width, page.Height);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new VolumeOutputException(path, FirstPage + page.Index + 1, $"the overlay could not be written ({e.Message})", e);
        }
        _overlays.Add(path);
    }

    /// <inheritdoc/>
    public override void Complete() => _inner.Complete();

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing) _inner.Dispose();
    }
}
