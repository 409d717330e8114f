namespace UNet.Segmentation.Inference.Streaming;

/// <summary>
/// Pages <c>first</c> to <c>first + count − 1</c> of another source, as a volume of their own (page
/// <c>i</c> here is page <c>first + i</c> there): one rank's share. A page whose size differs from
/// the whole volume's first page is refused with its number in the whole volume.
/// </summary>
internal sealed class PageRangeSource : VolumeSource
{
    private readonly VolumeSource _inner;
    private readonly int _first, _count;
    private readonly (int Height, int Width) _volumeSize;

    public PageRangeSource(VolumeSource inner, PageShare share)
    {
        _inner = inner;
        (_first, _count) = (share.First, share.Count);
        if (_first < 0 || _count < 0 || _first + _count > inner.PageCount)
            throw new ArgumentOutOfRangeException(nameof(share), share, $"the share must lie within the volume's {inner.PageCount} pages");
        _volumeSize = inner.Describe(0);
        PageNames = inner.PageNames.Skip(_first).Take(_count).ToArray();
    }

    public override string InputPath => _inner.InputPath;

    public override int PageCount => _count;

    public override IReadOnlyList<string> PageNames { get; }

    public override (int Height, int Width) Describe(int index) => _inner.Describe(_first + index);

    public override VolumePage ReadPage(int index)
    {
        var page = _inner.ReadPage(_first + index);
        if ((page.Height, page.Width) != _volumeSize)
            throw new VolumePageException(page.FilePath, _first + index + 1,
                $"the page is {page.Width}x{page.Height} but the first page is {_volumeSize.Width}x{_volumeSize.Height}; every page of a volume must have one size");
        return page with { Index = index };
    }
}
