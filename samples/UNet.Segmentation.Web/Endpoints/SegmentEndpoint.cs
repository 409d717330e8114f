using System.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using UNet.Segmentation.Imaging;
using UNet.Segmentation.Inference;
using UNet.Segmentation.Web.Hosting;
using UNet.Segmentation.Web.Limits;
using UNet.Segmentation.Web.Problems;

namespace UNet.Segmentation.Web.Endpoints;

/// <summary>
/// POST /segment: read the upload into memory (byte limit), tell its format by its magic bytes and
/// its size by its header (pixel limit), wait for a prediction slot (bounded queue), decode and
/// predict on the thread pool, and answer JSON; the request timeout covers all of it. Every refusal
/// is a <see cref="RequestProblemException"/> the exception handler turns into problem details.
/// </summary>
public static class SegmentEndpoint
{
    /// <summary>The handler.</summary>
    public static async Task<SegmentationResponse> HandleAsync(
        HttpContext context, [FromServices] PredictorHost host, [FromServices] PredictionGate gate, [FromServices] SegmentationSettings settings)
    {
        var clock = Stopwatch.StartNew();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        timeout.CancelAfter(TimeSpan.FromSeconds(settings.RequestTimeoutSeconds));
        Upload upload;
        try
        {
            upload = await UploadReader.ReadAsync(context.Request, settings.MaxRequestBytes, timeout.Token);
        }
        catch (OperationCanceledException) when (!context.RequestAborted.IsCancellationRequested)
        {
            throw new RequestProblemException(ProblemCatalog.UploadTimeout(settings.RequestTimeoutSeconds));
        }
        double readMs = clock.Elapsed.TotalMilliseconds;
        var header = ImageSniffing.Read(upload.Data, upload.Name);
        ImageSniffing.CheckPixels(header, settings.MaxPixels, upload.Name);
        double queuedAt = clock.Elapsed.TotalMilliseconds;
        Outcome outcome;
        try
        {
            outcome = await gate.RunAsync(() => Segment(host, upload, clock, queuedAt), timeout.Token);
        }
        catch (OperationCanceledException) when (!context.RequestAborted.IsCancellationRequested)
        {
            throw new RequestProblemException(ProblemCatalog.PredictionTimeout(settings.RequestTimeoutSeconds, gate.RetryAfterSeconds));
        }
        var p = outcome.Prediction;
        return new SegmentationResponse(p.Width, p.Height, header.Format.ToString().ToLowerInvariant(), outcome.Channels, p.Classes,
            p.ClassShares(), host.Engine,
            new Timing(readMs, outcome.QueueMs, outcome.DecodeMs, outcome.PredictMs, clock.Elapsed.TotalMilliseconds),
            p.MaskPng!, p.OverlayPng!);
    }

    private sealed record Outcome(ImagePrediction Prediction, int Channels, double QueueMs, double DecodeMs, double PredictMs);

    /// <summary>Decodes and predicts: runs inside a prediction slot.</summary>
    private static Outcome Segment(PredictorHost host, Upload upload, Stopwatch clock, double queuedAt)
    {
        double started = clock.Elapsed.TotalMilliseconds;
        DecodedImage image;
        try
        {
            using var stream = new MemoryStream(upload.Data, writable: false);
            image = ImageFiles.Read(stream, upload.Name);
        }
        catch (ImageFormatException e)
        {
            throw new RequestProblemException(ProblemCatalog.Undecodable($"{upload.Name}: {e.Problem}"));
        }
        double decoded = clock.Elapsed.TotalMilliseconds;
        if (image.Channels != host.InputChannels)
            throw new RequestProblemException(ProblemCatalog.WrongChannels(
                $"{upload.Name} has {Describe(image.Channels)}; the model takes {Describe(host.InputChannels)} images"));
        var prediction = host.Predict(image);
        return new Outcome(prediction, image.Channels, started - queuedAt, decoded - started, clock.Elapsed.TotalMilliseconds - decoded);
    }

    private static string Describe(int channels) => channels switch
    {
        1 => "1 channel (grey)",
        3 => "3 channels (RGB)",
        _ => $"{channels} channels",
    };
}
