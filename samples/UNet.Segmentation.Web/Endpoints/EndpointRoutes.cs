using Microsoft.AspNetCore.Mvc;
using UNet.Segmentation.Web.Hosting;

namespace UNet.Segmentation.Web.Endpoints;

/// <summary>The service's three routes.</summary>
public static class EndpointRoutes
{
    /// <summary>Maps GET /, GET /health and POST /segment.</summary>
    public static void MapSegmentationEndpoints(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/", PageEndpoint.Handle);
        routes.MapGet("/health", ([FromServices] PredictorHost host, [FromServices] SegmentationSettings settings) => Health.Of(host, settings));
        routes.MapPost("/segment", SegmentEndpoint.HandleAsync);
    }
}
