namespace UNet.Segmentation.Web.Problems;

/// <summary>Thrown wherever a request is found bad or cannot be served; the exception handler answers with its <see cref="Problem"/>.</summary>
public sealed class RequestProblemException(RequestProblem problem) : Exception(problem.Detail)
{
    /// <summary>The answer.</summary>
    public RequestProblem Problem { get; } = problem;
}
