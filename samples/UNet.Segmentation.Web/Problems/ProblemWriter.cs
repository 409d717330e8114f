using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace UNet.Segmentation.Web.Problems;

/// <summary>Writes a <see cref="RequestProblem"/> as <c>application/problem+json</c> (whatever the request's Accept says), with Retry-After when it has one.</summary>
public static class ProblemWriter
{
    /// <summary>The content type of every problem.</summary>
    public const string ContentType = "application/problem+json";

    /// <summary>Answers the request with <paramref name="problem"/>, unless the response has already started.</summary>
    public static async Task WriteAsync(HttpContext context, RequestProblem problem)
    {
        if (context.Response.HasStarted) return;
        context.Response.Clear();
        if (problem.RetryAfterSeconds is { } seconds)
            context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        var details = new ProblemDetails
        {
            Status = problem.Status,
            Type = problem.Type,
            Title = problem.Title,
            Detail = problem.Detail,
            Instance = context.Request.Path,
        };
        details.Extensions["traceId"] = Activity.Current?.Id ?? context.TraceIdentifier;
        await TypedResults.Problem(details).ExecuteAsync(context);
    }
}
