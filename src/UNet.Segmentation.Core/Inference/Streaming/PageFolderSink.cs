using UNet.Segmentation.Imaging;

namespace UNet.Segmentation.Inference.Streaming;

/// <summary>
/// Writes a streaming prediction as one pair of files per page into a folder:
/// <c>NAME-probabilities.tif</c> (float32) and <c>NAME-mask.tif</c> (8-bit, Deflate), NAME being
/// the page's name (the input file's name for a folder, <c>page-00001</c>… for a stack). Each file
/// is written atomically (a temporary file renamed), so a file under its final name is complete.
/// A small <c>.unet-predict-progress</c> file records which prediction the folder belongs to; run
/// again, the sink keeps the leading pages whose two files exist and the prediction skips them.
/// </summary>
public sealed class PageFolderSink : VolumeSink
{
    private readonly string _folder;
    private IReadOnlyList<string> _names = [];

    /// <summary>Creates the sink for <paramref name="folder"/> (made as needed).</summary>
    public PageFolderSink(string folder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        _folder = Path.GetFullPath(folder);
    }

    /// <inheritdoc/>
    public override IReadOnlyList<string> OutputPaths => [_folder];

    /// <summary>The probabilities file of the page named <paramref name="name"/>.</summary>
    public string ProbabilitiesPath(string name) => Path.Combine(_folder, $"{name}-probabilities.tif");

    /// <summary>The mask file of the page named <paramref name="name"/>.</summary>
    public string MaskPath(string name) => Path.Combine(_folder, $"{name}-mask.tif");

    /// <summary>Whether <see cref="Begin"/> records (or checks) which prediction the folder holds; off for the ranks sharing one folder, whose rank 0 keeps the record.</summary>
    internal bool KeepsRecord { get; init; } = true;

    /// <summary>The volume's page number of this sink's page 0, for messages (a rank's share).</summary>
    internal int FirstPage { get; init; }

    private string ManifestPath => Path.Combine(_folder, ".unet-predict-progress");

    /// <inheritdoc/>
    public override int Begin(VolumeLayout layout, string signature)
    {
        ArgumentNullException.ThrowIfNull(layout);
        signature = ProgressManifest.OneLine(signature);
        _names = layout.PageNames;
        try
        {
            Directory.CreateDirectory(_folder);
            if (!KeepsRecord) return LeadingPagesDone();
            if (ProgressManifest.Read(ManifestPath) is { } earlier && earlier.Signature != signature)
                throw new VolumeOutputException(ManifestPath, 1,
                    $"the folder holds the pages of another prediction (it recorded: {earlier.Signature}); delete the folder's files to start over, or write elsewhere");
            ProgressManifest.Create(ManifestPath, signature, []).Dispose();
        }
        catch (Exception e) when (e is IOException and not VolumeOutputException or UnauthorizedAccessException)
        {
            throw new VolumeOutputException(_folder, 1, $"the output folder could not be prepared ({e.Message})", e);
        }
        return LeadingPagesDone();
    }

    private int LeadingPagesDone()
    {
        int done = 0;
        while (done < _names.Count && File.Exists(ProbabilitiesPath(_names[done])) && File.Exists(MaskPath(_names[done]))) done++;
        return done;
    }

    /// <inheritdoc/>
    public override void WritePage(VolumePage page, ReadOnlySpan<float> interior, ReadOnlySpan<byte> mask)
    {
        ArgumentNullException.ThrowIfNull(page);
        string name = _names[page.Index];
        Write(ProbabilitiesPath(name), FirstPage + page.Index, new TiffVolume(1, page.Height, page.Width, interior.ToArray()), TiffCompression.None);
        Write(MaskPath(name), FirstPage + page.Index, new TiffVolume(1, page.Height, page.Width, mask.ToArray()), TiffCompression.Deflate);
    }

    private static void Write(string path, int index, TiffVolume volume, TiffCompression compression)
    {
        try
        {
            Tiff.Write(path, volume, compression);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            throw new VolumeOutputException(path, index + 1, $"the page could not be written ({e.Message})", e);
        }
    }

    /// <summary>Nothing to finish: every page is complete once written. The progress file stays, so that another prediction into this folder is refused.</summary>
    public override void Complete()
    {
    }
}
