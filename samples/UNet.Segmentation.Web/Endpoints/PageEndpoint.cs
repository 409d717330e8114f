namespace UNet.Segmentation.Web.Endpoints;

/// <summary>GET /: the one page (Page/index.html, compiled in as a resource), self-contained: no script, style or font from elsewhere.</summary>
public static class PageEndpoint
{
    private static readonly Lazy<byte[]> Html = new(() =>
    {
        using var stream = typeof(PageEndpoint).Assembly.GetManifestResourceStream("UNet.Segmentation.Web.index.html")
            ?? throw new InvalidOperationException("the page resource UNet.Segmentation.Web.index.html is missing from the assembly");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    });

    /// <summary>The page, with a content security policy that allows nothing from other origins.</summary>
    public static IResult Handle(HttpContext context)
    {
        context.Response.Headers.ContentSecurityPolicy =
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: blob:; connect-src 'self'; base-uri 'none'; form-action 'none'";
        context.Response.Headers.XContentTypeOptions = "nosniff";
        return Results.Bytes(Html.Value, "text/html; charset=utf-8");
    }
}
