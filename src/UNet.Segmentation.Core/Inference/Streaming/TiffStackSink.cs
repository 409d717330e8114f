using System.Runtime.InteropServices;
using System.Security.Cryptography;
using UNet.Segmentation.Imaging;

namespace UNet.Segmentation.Inference.Streaming;

/// <summary>When a <see cref="TiffStackSink"/> writes BigTIFF (64-bit offsets) instead of classic TIFF.</summary>
public enum BigTiffMode
{
    /// <summary>BigTIFF for a file that may pass classic TIFF's 4 GiB (judged from the page count and size before writing), classic TIFF otherwise, so small outputs stay readable everywhere.</summary>
    Auto,
    /// <summary>Always BigTIFF.</summary>
    Always,
    /// <summary>Always classic TIFF: a file that grows past 4 GiB fails.</summary>
    Never,
}

/// <summary>
/// Writes a streaming prediction as two multi-page files: the float32 interior probabilities and,
/// optionally, the 8-bit masks (Deflate), page by page, with the same bytes
/// <see cref="Tiff.Write(string, TiffVolume, TiffCompression)"/> gives a whole volume (classic TIFF).
/// While it runs, the files are <c>NAME.partial</c>, beside them <c>PROBABILITIES.progress</c>
/// lists the pages complete with their hashes; <see cref="Complete"/> renames the files to their
/// final names and deletes the list. Resumable (the default): an interrupted run leaves them, and
/// the next <see cref="Begin"/> verifies the pages listed against their hashes, copies the good ones
/// into fresh <c>.partial</c> files (so the result is the bytes of an unbroken run) and says how many
/// there were. Not resumable: they are deleted when the sink is disposed unfinished.
/// </summary>
public sealed class TiffStackSink : VolumeSink
{
    private readonly string _probabilities, _manifest;
    private readonly string? _masks;
    private readonly BigTiffMode _bigTiff;
    private readonly bool _resumable;
    private Output? _p, _m;
    private ProgressManifest? _progress;
    private bool _completed;

    /// <summary>Creates the sink; nothing is written before <see cref="Begin"/>.</summary>
    /// <param name="probabilitiesPath">The float32 probabilities file.</param>
    /// <param name="masksPath">The 8-bit masks file, or null for none.</param>
    /// <param name="bigTiff">When to write BigTIFF.</param>
    /// <param name="resumable">Keep an unfinished output for the next run (true), or delete it (false).</param>
    public TiffStackSink(string probabilitiesPath, string? masksPath = null, BigTiffMode bigTiff = BigTiffMode.Auto, bool resumable = true)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(probabilitiesPath);
        if (masksPath is not null) ArgumentException.ThrowIfNullOrWhiteSpace(masksPath);
        if (!Enum.IsDefined(bigTiff)) throw new ArgumentOutOfRangeException(nameof(bigTiff), bigTiff, "unknown BigTIFF mode");
        _probabilities = Path.GetFullPath(probabilitiesPath);
        _masks = masksPath is null ? null : Path.GetFullPath(masksPath);
        if (_masks is not null && string.Equals(_masks, _probabilities, StringComparison.Ordinal))
            throw new ArgumentException($"the probabilities and the masks name the same file '{masksPath}'", nameof(masksPath));
        _manifest = _probabilities + ".progress";
        (_bigTiff, _resumable) = (bigTiff, resumable);
    }

    /// <summary>Tests: opens the files written (a stream that fails on demand simulates a full disk).</summary>
    internal Func<string, Stream> OpenStream { get; init; } = path => new FileStream(path, FileMode.Create, FileAccess.ReadWrite, FileShare.Read, 1 << 16);

    /// <summary>Whether each file is BigTIFF, known after <see cref="Begin"/>.</summary>
    public (bool Probabilities, bool Masks) IsBigTiff => (_p?.Big ?? false, _m?.Big ?? false);

    /// <inheritdoc/>
    public override IReadOnlyList<string> OutputPaths => _masks is null ? [_probabilities] : [_probabilities, _masks];

    /// <inheritdoc/>
    public override int Begin(VolumeLayout layout, string signature)
    {
        ArgumentNullException.ThrowIfNull(layout);
        if (_p is not null) throw new InvalidOperationException("the sink has already begun");
        signature = ProgressManifest.OneLine(signature);
        long area = (long)layout.Height * layout.Width, pages = layout.PageCount;
        const long Classic = uint.MaxValue - (1L << 20);
        bool bigP = _bigTiff == BigTiffMode.Always || (_bigTiff == BigTiffMode.Auto && pages * (area * 4 + 4096) > Classic);
        // Deflate may grow incompressible data by a little; judge masks by their size plus 1 %.
        bool bigM = _bigTiff == BigTiffMode.Always || (_bigTiff == BigTiffMode.Auto && pages * (area + area / 100 + 4096) > Classic);

        var earlier = _resumable ? ProgressManifest.Read(_manifest) : null;
        if (earlier is { } e && e.Signature != signature)
            throw new VolumeOutputException(_manifest, e.Hashes.Count + 1,
                $"an unfinished prediction of something else is here (it recorded: {e.Signature}); delete '{_manifest}' and the .partial files beside it to start over, or write elsewhere");
        try
        {
            CreateParent(_probabilities);
            if (_masks is not null) CreateParent(_masks);
            var hashes = earlier?.Hashes ?? [];
            string pOld = _probabilities + ".partial.old", mOld = _masks + ".partial.old";
            bool resuming = hashes.Count > 0 && (File.Exists(pOld) || File.Exists(_probabilities + ".partial"));
            if (resuming)
            {
                // A resume that crashed while copying leaves .old, which then still holds the pages.
                if (!File.Exists(pOld)) File.Move(_probabilities + ".partial", pOld);
                if (_masks is not null && !File.Exists(mOld) && File.Exists(_masks + ".partial")) File.Move(_masks + ".partial", mOld);
            }
            _p = new Output(_probabilities, OpenStream, layout, TiffSampleFormat.Float32, TiffCompression.None, bigP);
            if (_masks is not null) _m = new Output(_masks, OpenStream, layout, TiffSampleFormat.UInt8, TiffCompression.Deflate, bigM);
            int verified = resuming ? CopyVerified(pOld, _masks is null ? null : mOld, hashes) : 0;
            _progress = ProgressManifest.Create(_manifest, signature, hashes.Take(verified).ToList());
            DeleteQuietly(pOld);
            if (_masks is not null) DeleteQuietly(mOld);
            return verified;
        }
        catch (Exception x) when (x is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            throw new VolumeOutputException(_p?.Partial ?? _probabilities, 1, $"the output could not be started ({x.Message})", x);
        }
    }

    /// <summary>Copies the pages of the old partial files whose hashes match the manifest into the new ones; stops at the first that does not.</summary>
    private int CopyVerified(string pOld, string? mOld, List<string> hashes)
    {
        TiffPageReader? pr = null, mr = null;
        try
        {
            pr = TiffPageReader.Open(pOld, upToDamage: true);
            if (mOld is not null) mr = TiffPageReader.Open(mOld, upToDamage: true);
            int limit = Math.Min(hashes.Count, Math.Min(pr.PageCount, mr?.PageCount ?? int.MaxValue));
            for (int i = 0; i < limit; i++)
            {
                byte[] p, m;
                try
                {
                    p = pr.ReadRaw(i, 32, 3, out _, out _);
                    m = mr?.ReadRaw(i, 8, 1, out _, out _) ?? [];
                }
                catch (TiffFormatException)
                {
                    return i; // a page cut short by the kill: redo it
                }
                if (p.Length != _p!.PageBytes || (mr is not null && m.Length != _m!.PageBytes) || Hash(p, m) != hashes[i]) return i;
                _p.Writer.WritePage(p);
                _m?.Writer.WritePage(m);
                _p.Stream.Flush();
                _m?.Stream.Flush();
            }
            return limit;
        }
        catch (Exception e) when (e is TiffFormatException or FileNotFoundException)
        {
            return 0; // nothing readable survived: start over
        }
        finally
        {
            pr?.Dispose();
            mr?.Dispose();
        }
    }

    private static string Hash(ReadOnlySpan<byte> probabilities, ReadOnlySpan<byte> mask)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(probabilities);
        hash.AppendData(mask);
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <inheritdoc/>
    public override void WritePage(VolumePage page, ReadOnlySpan<float> interior, ReadOnlySpan<byte> mask)
    {
        ArgumentNullException.ThrowIfNull(page);
        var (p, progress) = (_p ?? throw new InvalidOperationException("Begin was not called"), _progress!);
        var bytes = MemoryMarshal.AsBytes(interior);
        Write(p, page.Index, bytes);
        if (_m is not null) Write(_m, page.Index, mask);
        try
        {
            progress.Add(page.Index, Hash(bytes, _m is null ? [] : mask));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new VolumeOutputException(_manifest, page.Index + 1, $"the progress list could not be written ({e.Message})", e);
        }
    }

    private static void Write(Output output, int index, ReadOnlySpan<byte> bytes)
    {
        try
        {
            output.Writer.WritePage(bytes);
            output.Stream.Flush();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            throw new VolumeOutputException(output.Partial, index + 1, $"the page could not be written ({Innermost(e).Message})", e);
        }
    }

    private static Exception Innermost(Exception e) => e.InnerException is { } inner && e is InvalidOperationException or IOException ? Innermost(inner) : e;

    /// <inheritdoc/>
    public override void Complete()
    {
        var p = _p ?? throw new InvalidOperationException("Begin was not called");
        foreach (var output in _m is null ? [p] : new[] { p, _m })
        {
            try
            {
                output.Finish();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
            {
                throw new VolumeOutputException(output.Partial, output.Writer.PagesWritten, $"the file could not be finished ({Innermost(e).Message})", e);
            }
        }
        _progress?.Dispose();
        _progress = null;
        File.Move(p.Partial, _probabilities, overwrite: true);
        if (_m is not null) File.Move(_m.Partial, _masks!, overwrite: true);
        DeleteQuietly(_manifest);
        _completed = true;
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (!disposing) return;
        _progress?.Dispose();
        _p?.Dispose();
        _m?.Dispose();
        if (_completed || _resumable || _p is null) return;
        DeleteQuietly(_p.Partial);
        if (_m is not null) DeleteQuietly(_m.Partial);
        DeleteQuietly(_manifest);
    }

    private static void CreateParent(string path)
    {
        string? folder = Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(folder)) Directory.CreateDirectory(folder);
    }

    private static void DeleteQuietly(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // a leftover is harmless; the result or the error on its way matters more
        }
    }

    /// <summary>One file being written: its stream and its page writer.</summary>
    private sealed class Output : IDisposable
    {
        public Output(string final, Func<string, Stream> open, VolumeLayout layout, TiffSampleFormat format, TiffCompression compression, bool big)
        {
            Partial = final + ".partial";
            Big = big;
            PageBytes = (long)layout.Height * layout.Width * (format == TiffSampleFormat.Float32 ? 4 : 1);
            Stream = open(Partial);
            try
            {
                Writer = new TiffPageWriter(Stream, Partial, layout.PageCount, layout.Height, layout.Width, format, compression, big);
            }
            catch
            {
                Stream.Dispose();
                throw;
            }
        }

        public string Partial { get; }

        public bool Big { get; }

        public long PageBytes { get; }

        public Stream Stream { get; }

        public TiffPageWriter Writer { get; }

        public void Finish()
        {
            Writer.Finish();
            if (Stream is FileStream file) file.Flush(flushToDisk: true);
            else Stream.Flush();
            Stream.Dispose();
        }

        public void Dispose()
        {
            Writer.Dispose();
            Stream.Dispose();
        }
    }
}
