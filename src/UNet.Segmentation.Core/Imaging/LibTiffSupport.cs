using BitMiracle.LibTiff.Classic;
using LibTiff = BitMiracle.LibTiff.Classic.Tiff;

namespace UNet.Segmentation.Imaging;

/// <summary>
/// An error LibTiff.NET reported through its error handler while this library was calling it. Internal:
/// the reader turns it into a <see cref="TiffFormatException"/> naming the file and page, the writer
/// into an <see cref="InvalidOperationException"/>.
/// </summary>
internal sealed class LibTiffException(string message) : Exception(message);

/// <summary>
/// What this library needs around LibTiff.NET: its error handler and a stream over a window of a
/// .NET stream.
/// </summary>
/// <remarks>
/// LibTiff.NET's default error handler writes errors and warnings to the console and lets the
/// failing call return false. Its handler is one static field for the whole process
/// (<c>Tiff.SetErrorHandler</c>), so <see cref="Enter"/> installs <see cref="Handler"/> there (again,
/// should someone have replaced it) and marks the calling thread as inside one of our calls. On such
/// a thread an error throws <see cref="LibTiffException"/> out of LibTiff.NET at once and a warning
/// is kept for the reader (<see cref="TakeWarnings"/>), which decides what it means; on every other
/// thread both go to the handler that was installed before ours, so other users of LibTiff.NET in
/// the process see what they saw before. LibTiff.NET runs a call on the caller's thread, so the
/// per-thread mark is exact.
/// </remarks>
internal static class LibTiffSupport
{
    [ThreadStatic]
    private static int t_depth;

    [ThreadStatic]
    private static List<string>? t_warnings;

    private static readonly ThrowingHandler Handler = new();

    /// <summary>Marks this thread as calling LibTiff.NET for us until the scope is disposed.</summary>
    public static Scope Enter()
    {
        var previous = LibTiff.SetErrorHandler(Handler);
        if (previous is not null && !ReferenceEquals(previous, Handler)) Handler.Previous = previous;
        t_depth++;
        return new Scope();
    }

    /// <summary>The warnings LibTiff.NET gave on this thread since the last call, inside our scopes; clears them.</summary>
    public static IReadOnlyList<string> TakeWarnings()
    {
        if (t_warnings is not { Count: > 0 } warnings) return [];
        var taken = warnings.ToArray();
        warnings.Clear();
        return taken;
    }

    /// <summary>Ends what <see cref="Enter"/> began.</summary>
    public readonly struct Scope : IDisposable
    {
        /// <summary>Unmarks the thread (and forgets its warnings when the outermost scope ends).</summary>
        public void Dispose()
        {
            if (--t_depth == 0) t_warnings?.Clear();
        }
    }

    private static bool Ours => t_depth > 0;

    private static string Describe(string method, string format, object[] args)
    {
        string text;
        try
        {
            text = args is { Length: > 0 } ? string.Format(System.Globalization.CultureInfo.InvariantCulture, format, args) : format;
        }
        catch (FormatException)
        {
            text = format;
        }
        return string.IsNullOrEmpty(method) ? text : $"{method}: {text}";
    }

    /// <summary>Throws on errors from our threads, forwards everything else to the handler installed before.</summary>
    private sealed class ThrowingHandler : TiffErrorHandler
    {
        private volatile TiffErrorHandler _previous = new();

        public TiffErrorHandler Previous
        {
            set => _previous = value;
        }

        public override void ErrorHandler(LibTiff tif, string method, string format, params object[] args)
        {
            if (Ours) throw new LibTiffException(Describe(method, format, args));
            _previous.ErrorHandler(tif, method, format, args);
        }

        public override void ErrorHandlerExt(LibTiff tif, object clientData, string method, string format, params object[] args)
        {
            if (!Ours) _previous.ErrorHandlerExt(tif, clientData, method, format, args);
        }

        public override void WarningHandler(LibTiff tif, string method, string format, params object[] args)
        {
            if (Ours) (t_warnings ??= []).Add(Describe(method, format, args));
            else _previous.WarningHandler(tif, method, format, args);
        }

        public override void WarningHandlerExt(LibTiff tif, object clientData, string method, string format, params object[] args)
        {
            if (!Ours) _previous.WarningHandlerExt(tif, clientData, method, format, args);
        }
    }
}

/// <summary>
/// LibTiff.NET's view of a .NET stream as a file that begins at the stream's position when it was
/// made: offsets in the TIFF are relative to that position, the file ends where the furthest byte
/// written (or, for reading, the stream) ends, whatever the stream holds beyond, and closing the
/// TIFF leaves the stream open (its owner disposes it).
/// </summary>
internal sealed class WindowTiffStream : TiffStream
{
    private readonly long _start;
    private long _end;

    /// <summary>A window from the stream's position to its end (for reading).</summary>
    public static WindowTiffStream ForReading(Stream stream) => new(stream.Position, stream.Length);

    /// <summary>An empty window at the stream's position (for writing a new file there).</summary>
    public static WindowTiffStream ForWriting(Stream stream) => new(stream.Position, stream.Position);

    private WindowTiffStream(long start, long end)
    {
        _start = start;
        _end = end;
    }

    private static Stream Of(object clientData) => (Stream)clientData;

    public override int Read(object clientData, byte[] buffer, int offset, int count)
    {
        var stream = Of(clientData);
        long left = _end - stream.Position;
        return left <= 0 ? 0 : stream.Read(buffer, offset, (int)Math.Min(count, left));
    }

    public override void Write(object clientData, byte[] buffer, int offset, int count)
    {
        var stream = Of(clientData);
        try
        {
            stream.Write(buffer, offset, count);
        }
        catch (Exception e)
        {
            WriteError ??= e; // LibTiff.NET swallows it into "Write error"; the writer reports the cause
            throw;
        }
        _end = Math.Max(_end, stream.Position);
    }

    /// <summary>The first exception the underlying stream threw while writing (a full disk), or null.</summary>
    public Exception? WriteError { get; private set; }

    public override long Seek(object clientData, long offset, SeekOrigin origin)
    {
        if (offset == -1) return -1; // LibTiff.NET's "no offset" code, as its own stream treats it
        var stream = Of(clientData);
        long target = origin switch
        {
            SeekOrigin.Begin => _start + offset,
            SeekOrigin.Current => stream.Position + offset,
            _ => _end + offset,
        };
        if (target < _start || (target > _end && !stream.CanWrite)) return -1; // a reader cannot seek past the data
        stream.Position = target;
        return target - _start;
    }

    public override void Close(object clientData)
    {
    }

    public override long Size(object clientData) => _end - _start;

    /// <summary>The file's length so far.</summary>
    public long Length => _end - _start;
}
