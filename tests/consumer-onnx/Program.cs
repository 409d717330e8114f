// The ONNX package consumer test: an app with UNet.Segmentation.Onnx alone (no TorchSharp, no
// libtorch). Arguments: the exported model, a one-page slice TIFF and the TorchSharp consumer's
// probabilities for it, an output folder, and optionally the ISBI 2012 test volume. Checks that
// ONNX Runtime's probabilities of the slice equal TorchSharp's within 1e-4, then predicts the test
// volume and prints "onnx-consumer: ok <pages> pages <max difference>".
using UNet.Segmentation.Imaging;
using UNet.Segmentation.Onnx;

if (args.Length is < 4 or > 5)
{
    Console.Error.WriteLine("usage: consumer MODEL.onnx SLICE.tif TORCH-PROBABILITIES.tif OUTPUT-DIR [TEST-VOLUME.tif]");
    return 2;
}
var (model, slice, expectedPath, output) = (args[0], args[1], args[2], args[3]);
if (AppDomain.CurrentDomain.GetAssemblies().Any(a => a.GetName().Name?.StartsWith("TorchSharp", StringComparison.Ordinal) == true))
    throw new InvalidOperationException("TorchSharp is loaded in the ONNX consumer");

using var predictor = OnnxPredictor.Load(model, OnnxPredictorOptions.Reference with { Threads = 2 });
var result = predictor.PredictVolume(slice, Path.Combine(output, "slice-probabilities.tif"));
var actual = Tiff.Read(result.ProbabilitiesPath).GetFloat32();
var expected = Tiff.Read(expectedPath).GetFloat32();
if (actual.Length != expected.Length) throw new InvalidOperationException($"{actual.Length} probabilities, TorchSharp gave {expected.Length}");
double max = actual.Zip(expected, (a, e) => Math.Abs(a - e)).Max();
if (max > 1e-4) throw new InvalidOperationException($"ONNX Runtime and TorchSharp differ by {max} on the slice");
Console.WriteLine($"onnx-consumer: the slice matches TorchSharp (max |Δp| {max:E2})");

int pages = 0;
if (args.Length == 5)
{
    var volume = predictor.PredictVolume(args[4], Path.Combine(output, "test-probabilities.tif"), Path.Combine(output, "test-masks.tif"));
    var p = Tiff.Read(volume.ProbabilitiesPath);
    if (p.PageCount != volume.PageCount || p.GetFloat32().Any(v => !(v >= 0f && v <= 1f)))
        throw new InvalidOperationException("the test volume's probabilities are not one value in [0, 1] per pixel and page");
    pages = volume.PageCount;
    Console.WriteLine($"onnx-consumer: {args[4]}: {pages} pages of {volume.Width}x{volume.Height} in {volume.Elapsed.TotalSeconds:F1} s, interior {volume.InteriorFraction:P1}");
}
else
{
    Console.WriteLine("onnx-consumer: no test volume given (ISBI2012_DIR unset): the ISBI prediction is skipped");
}
Console.WriteLine($"onnx-consumer: ok {pages} pages {max:E2}");
return 0;
