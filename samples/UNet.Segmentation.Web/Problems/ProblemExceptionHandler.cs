using System.Diagnostics;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using UNet.Segmentation.Imaging;

namespace UNet.Segmentation.Web.Problems;

/// <summary>
/// The global exception handler: maps what a request can throw to problem details. The service's
/// own <see cref="RequestProblemException"/>, the library's typed image exceptions
/// (<see cref="ImageFormatException"/> → 400) and the server's
/// <see cref="BadHttpRequestException"/> (its status, e.g. 413 from Kestrel's body limit) answer
/// 4xx naming what was wrong; anything else is the service's own fault: 500 with no more than a
/// trace id (never a stack trace), the exception going to the log.
/// </summary>
public sealed class ProblemExceptionHandler(ILogger<ProblemExceptionHandler> logger) : IExceptionHandler
{
    /// <inheritdoc/>
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        if (context.Response.HasStarted) return false;
        await ProblemWriter.WriteAsync(context, Map(context, exception));
        return true;
    }

    private RequestProblem Map(HttpContext context, Exception exception)
    {
        switch (exception)
        {
            case RequestProblemException e:
                return e.Problem;
            case ImageFormatException e:
                return ProblemCatalog.Undecodable(e.Message);
            case BadHttpRequestException e when e.StatusCode is >= 400 and < 500:
                return ProblemCatalog.FromStatus(e.StatusCode, e.Message);
            default:
                string traceId = Activity.Current?.Id ?? context.TraceIdentifier;
                logger.LogError(exception, "request {TraceId} failed", traceId);
                return ProblemCatalog.Internal(traceId);
        }
    }
}
