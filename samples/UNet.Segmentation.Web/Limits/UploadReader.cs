using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;
using UNet.Segmentation.Web.Problems;

namespace UNet.Segmentation.Web.Limits;

/// <summary>The uploaded bytes, held in memory only, and how problems name them.</summary>
/// <param name="Data">The image file's bytes.</param>
/// <param name="Name">"the request body", or "the 'image' part ('slice.png')".</param>
public sealed record Upload(byte[] Data, string Name);

/// <summary>
/// Reads an upload into memory, never to disk: a multipart/form-data body's first part named
/// <c>image</c> (parsed here with <see cref="MultipartReader"/> straight from the request stream,
/// not through the form feature, which buffers large files to temporary files), or else the whole
/// body whatever its content type. Everything read counts against the byte limit.
/// </summary>
public static class UploadReader
{
    /// <summary>The multipart form field that carries the image.</summary>
    public const string Field = "image";

    /// <summary>Reads the upload of <paramref name="request"/>, at most <paramref name="maxBytes"/> bytes of body.</summary>
    /// <exception cref="RequestProblemException">413 over the limit, 400 for an empty body or a multipart body without a usable 'image' part.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired.</exception>
    public static async Task<Upload> ReadAsync(HttpRequest request, long maxBytes, CancellationToken cancellationToken)
    {
        if (request.ContentLength is { } declared && declared > maxBytes)
            throw new RequestProblemException(ProblemCatalog.BodyTooLarge(maxBytes, $"the request declares a body of {declared} bytes (Content-Length); at most {maxBytes} are accepted"));
        var body = new BoundedBody(request.Body, maxBytes);
        if (MultipartBoundary(request.ContentType) is { } boundary)
            return await ReadPartAsync(new MultipartReader(boundary, body) { HeadersLengthLimit = 16 * 1024, HeadersCountLimit = 16 }, cancellationToken);
        var data = await CopyAsync(body, request.ContentLength, cancellationToken);
        if (data.Length == 0)
            throw new RequestProblemException(ProblemCatalog.EmptyBody(
                $"the request body is empty: send the image file as the body (any content type) or as the multipart/form-data field '{Field}'"));
        return new Upload(data, "the request body");
    }

    private static string? MultipartBoundary(string? contentType)
    {
        if (!MediaTypeHeaderValue.TryParse(contentType, out var media) || !media.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase))
            return null;
        string boundary = HeaderUtilities.RemoveQuotes(media.Boundary).ToString();
        if (boundary.Length is 0 or > 70)
            throw new RequestProblemException(ProblemCatalog.BadMultipart(
                $"the content type multipart/form-data needs a boundary parameter of 1 to 70 characters (got {(boundary.Length == 0 ? "none" : $"{boundary.Length} characters")})"));
        return boundary;
    }

    private static async Task<Upload> ReadPartAsync(MultipartReader reader, CancellationToken cancellationToken)
    {
        var seen = new List<string>();
        while (true)
        {
            MultipartSection? section;
            try
            {
                section = await reader.ReadNextSectionAsync(cancellationToken);
            }
            catch (Exception e) when (e is IOException or InvalidDataException)
            {
                throw new RequestProblemException(ProblemCatalog.BadMultipart($"the multipart body is malformed: {e.Message}"));
            }
            if (section is null) break;
            ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition);
            string name = HeaderUtilities.RemoveQuotes(disposition?.Name ?? default).ToString();
            if (name != Field)
            {
                seen.Add($"'{name}'");
                await section.Body.CopyToAsync(Stream.Null, cancellationToken); // skipped, still counted against the limit
                continue;
            }
            string file = HeaderUtilities.RemoveQuotes(disposition!.FileName).ToString();
            string described = file.Length == 0 ? $"the '{Field}' part" : $"the '{Field}' part ('{file}')";
            byte[] data;
            try
            {
                data = await CopyAsync(section.Body, null, cancellationToken);
            }
            catch (Exception e) when (e is IOException or InvalidDataException)
            {
                throw new RequestProblemException(ProblemCatalog.BadMultipart($"{described} is malformed: {e.Message}"));
            }
            if (data.Length == 0) throw new RequestProblemException(ProblemCatalog.EmptyBody($"{described} is empty"));
            return new Upload(data, described);
        }
        throw new RequestProblemException(ProblemCatalog.BadMultipart(seen.Count == 0
            ? $"the multipart body has no parts: send the image file as the field '{Field}'"
            : $"the multipart body has no part named '{Field}' (it has {string.Join(", ", seen)}): send the image file as the field '{Field}'"));
    }

    private static async Task<byte[]> CopyAsync(Stream source, long? expected, CancellationToken cancellationToken)
    {
        using var memory = new MemoryStream(expected is > 0 and < int.MaxValue ? (int)expected.Value : 0);
        await source.CopyToAsync(memory, cancellationToken);
        return memory.ToArray();
    }
}
