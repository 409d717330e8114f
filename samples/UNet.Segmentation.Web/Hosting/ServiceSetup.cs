using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using UNet.Segmentation.Web.Limits;
using UNet.Segmentation.Web.Problems;

namespace UNet.Segmentation.Web.Hosting;

/// <summary>The service's registrations and its error pipeline, so that Program.cs stays a few lines.</summary>
public static class ServiceSetup
{
    /// <summary>
    /// Registers the settings (bound and checked once), the predictor (loaded on first resolution,
    /// which Program does before the server starts), the prediction gate, the body limit on Kestrel,
    /// form options that could never buffer to disk, and problem details for every error.
    /// </summary>
    public static void AddSegmentationService(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddSingleton(provider => Bind(provider.GetRequiredService<IConfiguration>()));
        services.AddSingleton(provider => PredictorHost.Load(provider.GetRequiredService<SegmentationSettings>()));
        services.AddSingleton(provider => new PredictionGate(provider.GetRequiredService<SegmentationSettings>()));
        // Both read while the app is built, before Program checks the settings: bad settings leave
        // them at their defaults here and stop the start right after.
        services.AddOptions<KestrelServerOptions>().Configure<IConfiguration>((kestrel, configuration) =>
        {
            kestrel.AddServerHeader = false;
            if (BodyLimit(configuration) is { } limit) kestrel.Limits.MaxRequestBodySize = limit;
        });
        // POST /segment reads multipart bodies itself (UploadReader); should anything read the form
        // feature, it would still keep every file in memory within the body limit, never on disk.
        services.AddOptions<FormOptions>().Configure<IConfiguration>((form, configuration) =>
        {
            int limit = (int)Math.Min(BodyLimit(configuration) ?? new SegmentationSettings().MaxRequestBytes, int.MaxValue);
            form.MemoryBufferThreshold = limit;
            form.MultipartBodyLengthLimit = limit;
            form.BufferBody = false;
        });
        services.AddProblemDetails();
        services.AddExceptionHandler<ProblemExceptionHandler>();
    }

    /// <summary>The exception handler (every exception → problem details) and status-code pages (404, 405 … → problem details).</summary>
    public static void UseSegmentationProblems(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages(context =>
        {
            var http = context.HttpContext;
            int status = http.Response.StatusCode;
            string detail = status switch
            {
                StatusCodes.Status404NotFound => $"there is no {http.Request.Path}: the service has GET /, GET /health and POST /segment",
                StatusCodes.Status405MethodNotAllowed => $"{http.Request.Method} is not allowed on {http.Request.Path} (allowed: {http.Response.Headers.Allow})",
                _ => $"{http.Request.Method} {http.Request.Path} answered {status}",
            };
            return ProblemWriter.WriteAsync(http, ProblemCatalog.FromStatus(status, detail));
        });
    }

    private static long? BodyLimit(IConfiguration configuration)
    {
        try
        {
            return Bind(configuration).MaxRequestBytes;
        }
        catch (StartupException)
        {
            return null;
        }
    }

    private static SegmentationSettings Bind(IConfiguration configuration)
    {
        var settings = new SegmentationSettings();
        try
        {
            configuration.GetSection(SegmentationSettings.Section).Bind(settings);
        }
        catch (InvalidOperationException e)
        {
            throw new StartupException($"the configuration section {SegmentationSettings.Section} cannot be read: {e.Message}{(e.InnerException is { } inner ? $" ({inner.Message})" : "")}", e);
        }
        if (settings.Validate() is { Count: > 0 } problems) throw new StartupException(string.Join("; ", problems));
        return settings;
    }
}
