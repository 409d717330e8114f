using UNet.Segmentation.Web.Endpoints;
using UNet.Segmentation.Web.Hosting;

// The web service sample (docs/serving.md): POST /segment, GET / and GET /health over one shared predictor.
// appsettings.json is read beside the assembly, so the working directory is free for relative model paths.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.AddSegmentationService();
var app = builder.Build();
try
{
    app.Services.GetRequiredService<PredictorHost>(); // loads the model now: a bad one stops the start, not the first request
}
catch (StartupException e)
{
    Console.Error.WriteLine($"UNet.Segmentation.Web cannot start: {e.Message}");
    await app.DisposeAsync();
    return 1;
}
app.UseSegmentationProblems();
app.MapSegmentationEndpoints();
app.Run();
return 0;
