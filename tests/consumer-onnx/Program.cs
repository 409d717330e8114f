// The ONNX package consumer test: an app with UNet.Segmentation.Onnx alone (no TorchSharp, no
// libtorch). Arguments: the exported model, a one-page slice TIFF, the TorchSharp consumer's
// probabilities for it and the slice's 8-bit labels, an output folder, and optionally the ISBI
// 2012 folder. Checks that ONNX Runtime's probabilities of the slice equal TorchSharp's within
// 1e-4, scores them against the labels with Core's ChallengeScores and prints
// "onnx-consumer: scores slice V_rand … | V_info …"; with the ISBI folder, predicts the train
// volume's first slice and scores it against train-labels' first page
// ("onnx-consumer: scores isbi-train-0 ..."), then predicts the test volume; ends with
// "onnx-consumer: ok <pages> pages <max difference>".
using UNet.Segmentation.Imaging;
using UNet.Segmentation.Onnx;
using UNet.Segmentation.Scoring;

if (args.Length is < 5 or > 6)
{
    Console.Error.WriteLine("usage: consumer MODEL.onnx SLICE.tif TORCH-PROBABILITIES.tif SLICE-LABELS.tif OUTPUT-DIR [ISBI2012-DIR]");
    return 2;
}
var (model, slice, expectedPath, labelsPath, output) = (args[0], args[1], args[2], args[3], args[4]);
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

var sliceLabels = Tiff.Read(labelsPath);
Score("slice", Tiff.Read(result.ProbabilitiesPath), sliceLabels);

int pages = 0;
if (args.Length == 6)
{
    string isbi = args[5];
    var trainLabels = Tiff.Read(Path.Combine(isbi, "train-labels.tif"));
    var trainVolume = Tiff.Read(Path.Combine(isbi, "train-volume.tif"));
    int h = trainVolume.Height, w = trainVolume.Width;
    var first = predictor.PredictSlice(trainVolume.PageUInt8(0), h, w);
    Score("isbi-train-0", new TiffVolume(1, h, w, first), new TiffVolume(1, h, w, trainLabels.PageUInt8(0).ToArray()));

    var volume = predictor.PredictVolume(Path.Combine(isbi, "test-volume.tif"), Path.Combine(output, "test-probabilities.tif"), Path.Combine(output, "test-masks.tif"));
    var p = Tiff.Read(volume.ProbabilitiesPath);
    if (p.PageCount != volume.PageCount || p.GetFloat32().Any(v => !(v >= 0f && v <= 1f)))
        throw new InvalidOperationException("the test volume's probabilities are not one value in [0, 1] per pixel and page");
    pages = volume.PageCount;
    Console.WriteLine($"onnx-consumer: {isbi}/test-volume.tif: {pages} pages of {volume.Width}x{volume.Height} in {volume.Elapsed.TotalSeconds:F1} s, interior {volume.InteriorFraction:P1}");
}
else
{
    Console.WriteLine("onnx-consumer: no ISBI 2012 folder given (ISBI2012_DIR unset): the ISBI scores and prediction are skipped");
}
Console.WriteLine($"onnx-consumer: ok {pages} pages {max:E2}");
return 0;

// The challenge's scores of a prediction against its labels, printed as one line, after checking
// that the labels scored as a certain prediction of themselves give 1 and 1 (the scoring is live).
static void Score(string name, TiffVolume prediction, TiffVolume labels)
{
    var exact = labels.GetUInt8().Select(v => v > 127 ? 1f : 0f).ToArray();
    var self = ChallengeScores.Compute(new TiffVolume(labels.PageCount, labels.Height, labels.Width, exact), labels);
    if (Math.Abs(self.VRand - 1) > 1e-9 || Math.Abs(self.VInfo - 1) > 1e-9) // V_info's logarithms round
        throw new InvalidOperationException($"{name}: the labels against themselves score {self}, not 1 and 1");
    var report = ChallengeScores.Compute(prediction, labels);
    if (!(report.VRand is >= 0 and <= 1) || !(report.VInfo is >= 0 and <= 1))
        throw new InvalidOperationException($"{name}: scores outside [0, 1]: {report}");
    Console.WriteLine($"onnx-consumer: scores {name} {report}");
}
