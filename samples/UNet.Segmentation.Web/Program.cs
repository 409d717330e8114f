using UNet.Segmentation.Web.Endpoints;
using UNet.Segmentation.Web.Hosting;

// The web service sample (docs/serving.md): POST /segment, GET / and GET /health over one shared predictor.
var builder = WebApplication.CreateBuilder(args);
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
