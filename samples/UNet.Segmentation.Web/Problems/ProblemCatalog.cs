using Microsoft.AspNetCore.Http;

namespace UNet.Segmentation.Web.Problems;

/// <summary>Every problem the service answers with, in one place (docs/serving.md has the table).</summary>
public static class ProblemCatalog
{
    /// <summary>400: the request carries no bytes to segment.</summary>
    public static RequestProblem EmptyBody(string detail) =>
        new(StatusCodes.Status400BadRequest, "empty-body", "The request has no image", detail);

    /// <summary>400: a multipart body without a part named "image", or a broken multipart body.</summary>
    public static RequestProblem BadMultipart(string detail) =>
        new(StatusCodes.Status400BadRequest, "bad-multipart", "The multipart body has no usable 'image' part", detail);

    /// <summary>413: the body is over the configured byte limit.</summary>
    public static RequestProblem BodyTooLarge(long limit, string detail) =>
        new(StatusCodes.Status413PayloadTooLarge, "body-too-large", $"The request body is over {limit} bytes", detail);

    /// <summary>415: the bytes are not a PNG, JPEG or TIFF (by their magic bytes; names and content types are not trusted).</summary>
    public static RequestProblem NotAnImage(string detail) =>
        new(StatusCodes.Status415UnsupportedMediaType, "not-an-image", "The upload is not a PNG, JPEG or TIFF image", detail);

    /// <summary>400: the image's header is cut short or inconsistent, so its size cannot be read.</summary>
    public static RequestProblem BadHeader(string detail) =>
        new(StatusCodes.Status400BadRequest, "bad-image-header", "The image's header cannot be read", detail);

    /// <summary>413: the header declares more pixels than allowed (checked before anything is decoded).</summary>
    public static RequestProblem TooManyPixels(long limit, string detail) =>
        new(StatusCodes.Status413PayloadTooLarge, "too-many-pixels", $"The image has more than {limit} pixels", detail);

    /// <summary>400: the image's data is damaged or cut short, or uses a feature the decoder refuses.</summary>
    public static RequestProblem Undecodable(string detail) =>
        new(StatusCodes.Status400BadRequest, "undecodable-image", "The image cannot be decoded", detail);

    /// <summary>422: a well-formed image the model cannot take (another number of channels).</summary>
    public static RequestProblem WrongChannels(string detail) =>
        new(StatusCodes.Status422UnprocessableEntity, "wrong-channels", "The model cannot take this image", detail);

    /// <summary>408: the body did not arrive within the request timeout.</summary>
    public static RequestProblem UploadTimeout(double seconds) =>
        new(StatusCodes.Status408RequestTimeout, "upload-timeout", "The upload took too long", $"the request body did not arrive within {seconds:0.###} s");

    /// <summary>503: every prediction slot and queue place is taken.</summary>
    public static RequestProblem Busy(int running, int queued, int retryAfter) =>
        new(StatusCodes.Status503ServiceUnavailable, "busy", "The service is busy",
            $"{running} prediction(s) are running and {queued} request(s) are queued, the most allowed; try again in {retryAfter} s")
        { RetryAfterSeconds = retryAfter };

    /// <summary>503: the wait and the prediction took longer than the request timeout.</summary>
    public static RequestProblem PredictionTimeout(double seconds, int retryAfter) =>
        new(StatusCodes.Status503ServiceUnavailable, "prediction-timeout", "The prediction did not finish in time",
            $"waiting for a prediction slot and predicting took more than the request timeout of {seconds:0.###} s")
        { RetryAfterSeconds = retryAfter };

    /// <summary>A status the routing or the server chose (404, 405, a malformed request): its reason phrase.</summary>
    public static RequestProblem FromStatus(int status, string detail) =>
        new(status, status switch
        {
            StatusCodes.Status404NotFound => "not-found",
            StatusCodes.Status405MethodNotAllowed => "method-not-allowed",
            StatusCodes.Status413PayloadTooLarge => "body-too-large",
            StatusCodes.Status408RequestTimeout => "upload-timeout",
            _ => "bad-request",
        }, ReasonPhrase(status), detail);

    /// <summary>500: a fault of the service itself; the detail says no more than that (the log has the exception).</summary>
    public static RequestProblem Internal(string traceId) =>
        new(StatusCodes.Status500InternalServerError, "internal", "The service failed",
            $"the service failed on this request; its log has the details under trace id {traceId}");

    private static string ReasonPhrase(int status) =>
        Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status) is { Length: > 0 } phrase ? phrase : $"HTTP {status}";
}
