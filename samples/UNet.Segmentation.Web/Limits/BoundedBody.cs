using UNet.Segmentation.Web.Problems;

namespace UNet.Segmentation.Web.Limits;

/// <summary>
/// The request body, read-only and forward-only, that refuses to give more than a limit of bytes
/// (413 body-too-large), whether or not the request declared a Content-Length; Kestrel's own
/// <c>MaxRequestBodySize</c> holds the same limit, TestServer has none.
/// </summary>
public sealed class BoundedBody(Stream inner, long limit) : Stream
{
    private long _read;

    /// <summary>Bytes given so far.</summary>
    public long BytesRead => _read;

    /// <inheritdoc/>
    public override bool CanRead => true;

    /// <inheritdoc/>
    public override bool CanSeek => false;

    /// <inheritdoc/>
    public override bool CanWrite => false;

    /// <inheritdoc/>
    public override long Length => throw new NotSupportedException();

    /// <inheritdoc/>
    public override long Position { get => _read; set => throw new NotSupportedException(); }

    /// <inheritdoc/>
    public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

    /// <inheritdoc/>
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        Count(await inner.ReadAsync(buffer, cancellationToken));

    /// <inheritdoc/>
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    private int Count(int n)
    {
        _read += n;
        if (_read > limit)
            throw new RequestProblemException(ProblemCatalog.BodyTooLarge(limit, $"the request body goes on past {limit} bytes, the most accepted"));
        return n;
    }

    /// <inheritdoc/>
    public override void Flush()
    {
    }

    /// <inheritdoc/>
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc/>
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <inheritdoc/>
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
