namespace UNet.Segmentation.Web.Endpoints;

/// <summary>
/// What POST /segment answers: the image's size and format, the model's classes, each class's share
/// of the pixels, the timing, and the mask and overlay as PNG files (base64 in JSON).
/// </summary>
/// <param name="Width">Columns.</param>
/// <param name="Height">Rows.</param>
/// <param name="Format">The upload's format by its magic bytes: png, jpeg or tiff.</param>
/// <param name="Channels">The image's channels (1 grey, 3 RGB).</param>
/// <param name="Classes">The model's classes K.</param>
/// <param name="ClassFractions">K shares of the pixels, one per class index, summing to 1.</param>
/// <param name="Engine">onnx or torchsharp.</param>
/// <param name="Timing">Milliseconds spent on each step.</param>
/// <param name="MaskPng">An 8-bit grey PNG of the class mask: pixel value = class index (0 … K−1).</param>
/// <param name="OverlayPng">An RGB PNG of the image with classes 1, 2, … tinted.</param>
public sealed record SegmentationResponse(
    int Width,
    int Height,
    string Format,
    int Channels,
    int Classes,
    IReadOnlyList<double> ClassFractions,
    string Engine,
    Timing Timing,
    byte[] MaskPng,
    byte[] OverlayPng);

/// <summary>Milliseconds: reading the body, waiting for a prediction slot, decoding, predicting (PNG encoding included), and the whole request.</summary>
public sealed record Timing(double ReadMs, double QueueMs, double DecodeMs, double PredictMs, double TotalMs);
