namespace UNet.Segmentation.Web.Problems;

/// <summary>
/// A request the service refuses, as RFC 7807 problem details: the HTTP status, a type naming the
/// kind of problem (<c>urn:unet-segmentation:problem:empty-body</c>, …; docs/serving.md lists
/// them), a short title, a detail saying what exactly was wrong, and for 503 the seconds to wait.
/// </summary>
public sealed record RequestProblem(int Status, string Kind, string Title, string Detail)
{
    /// <summary>The prefix of every problem type.</summary>
    public const string TypePrefix = "urn:unet-segmentation:problem:";

    /// <summary>The problem type URI.</summary>
    public string Type => TypePrefix + Kind;

    /// <summary>Seconds a client should wait before trying again (sent as Retry-After), or null.</summary>
    public int? RetryAfterSeconds { get; init; }
}

