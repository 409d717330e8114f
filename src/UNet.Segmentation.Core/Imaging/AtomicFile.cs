namespace UNet.Segmentation.Imaging;

/// <summary>
/// Writes a file all at once or not at all: the bytes go to a temporary file beside the target,
/// which <see cref="Commit"/> flushes to disk and renames over the target. Disposing without
/// committing deletes the temporary file and leaves any existing target untouched.
/// </summary>
internal sealed class AtomicFile : IDisposable
{
    private readonly string _target;
    private readonly string _temporary;
    private readonly FileStream _stream;
    private bool _committed;

    private AtomicFile(string target)
    {
        _target = Path.GetFullPath(target);
        string directory = Path.GetDirectoryName(_target) ?? throw new ArgumentException($"'{target}' names no file", nameof(target));
        _temporary = Path.Combine(directory, $".{Path.GetFileName(_target)}.{Guid.NewGuid():N}.tmp");
        _stream = new FileStream(_temporary, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16);
    }

    /// <summary>Starts writing <paramref name="path"/>; throws when its folder does not exist or cannot be written.</summary>
    public static AtomicFile Begin(string path) => new(path);

    /// <summary>Where to write the content.</summary>
    public FileStream Stream => _stream;

    /// <summary>Flushes the content to disk and renames it over the target.</summary>
    public void Commit()
    {
        _stream.Flush(flushToDisk: true);
        _stream.Dispose();
        File.Move(_temporary, _target, overwrite: true);
        _committed = true;
    }

    public void Dispose()
    {
        if (_committed) return;
        _stream.Dispose();
        try
        {
            File.Delete(_temporary);
        }
        catch (IOException)
        {
            // best effort: the original error matters more than a leftover temporary file
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
