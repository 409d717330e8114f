using System.Globalization;
using UNet.Segmentation.Data;
using UNet.Segmentation.Export;
using UNet.Segmentation.Inference;
using UNet.Segmentation.Model;
using UNet.Segmentation.Onnx;
using UNet.Segmentation.Scoring;
using UNet.Segmentation.Tests.Imaging;
using UNet.Segmentation.Tests.Shared;
using UNet.Segmentation.Training;

namespace UNet.Segmentation.Tests.Export;

/// <summary>
/// The int8 export of a trained checkpoint against its float32 export on real ISBI 2012 slices
/// (fold 0's held-out ones), both on ONNX Runtime through the reference's resize: the map Dice,
/// the masks' agreement and the challenge's V_rand and V_info. Needs ISBI2012_DIR; the model is
/// the checkpoint named by UNET_INT8_CHECKPOINT (docs/onnx.md, "int8", has the command and the
/// numbers for the cpu-fast recipe's fold-0 model), or without it one trained here on fold 0's
/// training slices for <see cref="StepsWithoutCheckpoint"/> steps of the cpu-fast recipe (what CI
/// runs: a couple of minutes on two cores).
/// </summary>
[Collection("LiveTensors")]
public sealed class Int8IsbiAccuracyTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    internal sealed record Measured(double Dice, double Agreement, ChallengeScoreReport Scores, float[] Probabilities);

    /// <summary>The cpu-fast steps of the model trained here when UNET_INT8_CHECKPOINT names none.</summary>
    public const int StepsWithoutCheckpoint = 300;

    /// <summary>The ISBI folder, and the checkpoint UNET_INT8_CHECKPOINT names (null when unset; a name of no file fails the test).</summary>
    private static (string Isbi, string? Checkpoint) Requirements()
    {
        string isbi = Requirement.IsbiDirectory("the int8 accuracy is measured on real ISBI slices");
        string? checkpoint = Environment.GetEnvironmentVariable("UNET_INT8_CHECKPOINT");
        if (string.IsNullOrEmpty(checkpoint)) return (isbi, null);
        Assert.True(File.Exists(checkpoint), $"UNET_INT8_CHECKPOINT names {checkpoint}, which does not exist");
        return (isbi, checkpoint);
    }

    /// <summary>The checkpoint's model, or a 16-filter U-Net trained on fold 0's training slices by the cpu-fast recipe.</summary>
    private UNetModel Model(string? checkpoint, IsbiDataset data)
    {
        if (checkpoint is not null) return UNetModel.Load(checkpoint);
        var recipe = TrainingRecipes.CpuFast;
        var model = new UNetModel(recipe.ApplyTo(UNetOptions.Reference));
        using (var trainer = Trainer.For(model).WithRecipe(recipe).WithSteps(StepsWithoutCheckpoint, recipe.BatchSize).WithLogging(logEvery: 0).Build())
            trainer.Fit(data, CrossValidation.Split(0), cancellation: TestContext.Current.CancellationToken);
        output.WriteLine($"no UNET_INT8_CHECKPOINT: trained {StepsWithoutCheckpoint} cpu-fast steps on fold 0's training slices");
        return model;
    }

    private static Measured Measure(string onnx, IsbiDataset data, IReadOnlyList<int> slices, float[]? reference)
    {
        using var predictor = OnnxPredictor.Load(onnx, OnnxPredictorOptions.Reference with { Threads = 2 });
        int area = data.Height * data.Width;
        var probabilities = new float[slices.Count * area];
        var labels = new byte[slices.Count * area];
        for (int i = 0; i < slices.Count; i++)
        {
            predictor.PredictSlice(data.TrainImages.Span.Slice(slices[i] * area, area), data.Height, data.Width).CopyTo(probabilities.AsSpan(i * area));
            data.TrainLabels.Span.Slice(slices[i] * area, area).CopyTo(labels.AsSpan(i * area));
        }
        double agreement = 1;
        if (reference is not null)
        {
            long same = 0;
            for (int i = 0; i < probabilities.Length; i++) if (probabilities[i] > 0.5f == reference[i] > 0.5f) same++;
            agreement = same / (double)probabilities.Length;
        }
        return new Measured(ValidationReport.MapDiceOf(probabilities, labels), agreement,
            ChallengeScores.Compute(probabilities, labels, slices.Count, data.Height, data.Width), probabilities);
    }

    private static string Row(string name, Measured m) => string.Create(CultureInfo.InvariantCulture,
        $"{name}: map Dice {m.Dice:F4}, agreement {m.Agreement:P3}, V_rand {m.Scores.VRand:F4}, V_info {m.Scores.VInfo:F4}, thinned V_rand {m.Scores.Thinned?.VRand:F4}, thinned V_info {m.Scores.Thinned?.VInfo:F4}");

    private (IsbiDataset Data, IReadOnlyList<int> Slices, UNetModel Model, IReadOnlyList<CalibrationImage> TestSlices, Measured Float) FloatReference()
    {
        var (isbi, checkpoint) = Requirements();
        var data = IsbiDataset.Load(isbi);
        var slices = CrossValidation.Split(0).Validation;
        Assert.Equal([25, 3, 0, 21, 15, 12], slices);
        var model = Model(checkpoint, data);
        string f32 = _dir.File("float.onnx");
        OnnxExport.Save(model, f32);
        var reference = Measure(f32, data, slices, null);
        output.WriteLine($"{checkpoint ?? "the model trained here"}, fold 0's held-out slices {string.Join(", ", slices)}, ONNX Runtime, reference resize");
        output.WriteLine(Row("float32", reference));
        return (data, slices, model, CalibrationImages.Load(isbi), reference);
    }

    [Fact]
    public void TheDefaultInt8Export_KeepsTheDiceWithin0_005_AndTheMasksOn99_5PercentOfPixels()
    {
        var (data, slices, model, testSlices, reference) = FloatReference();
        using (model)
        {
            string path = _dir.File("int8.onnx");
            var calibration = CalibrationImages.Spread(testSlices, 8);
            var result = OnnxExport.Save(model, path, new OnnxExportOptions { Int8 = new Int8Quantization { Calibration = calibration } });
            output.WriteLine($"calibration: {string.Join(", ", result.Quantization!.ImageNames)}; activations 0 throughout: {string.Join(", ", result.Quantization.ZeroActivations.DefaultIfEmpty("none"))}");
            var int8 = Measure(path, data, slices, reference.Probabilities);
            output.WriteLine(Row("int8, percentile 99.999, 8 test slices", int8));
            Vnni.RequireForAccuracy($"map Dice {int8.Dice:F4} against {reference.Dice:F4} in float32, agreement {int8.Agreement:P3}");
            Assert.True(Math.Abs(int8.Dice - reference.Dice) <= 0.005, $"map Dice {int8.Dice:F4} (int8) vs {reference.Dice:F4} (float32)");
            Assert.True(int8.Agreement >= 0.995, $"the masks agree on {int8.Agreement:P3} of the pixels");
        }
    }

    /// <summary>The table of docs/onnx.md: every calibration choice measured the same way (set UNET_INT8_VARIANTS=1).</summary>
    [Fact]
    public void CalibrationVariants()
    {
        Requirement.SkipWhen(Environment.GetEnvironmentVariable("UNET_INT8_VARIANTS") != "1", "UNET_INT8_VARIANTS=1 asks for the variants' table (tens of minutes on two cores)");
        var (data, slices, model, all, reference) = FloatReference();
        using (model)
            foreach (var (name, q) in new (string, Int8Quantization)[]
            {
                ("percentile 99.999, 8 images (default)", new() { Calibration = CalibrationImages.Spread(all, 8) }),
                ("percentile 99.99, 8 images", new() { Calibration = CalibrationImages.Spread(all, 8), Percentile = 99.99 }),
                ("percentile 99.9, 8 images", new() { Calibration = CalibrationImages.Spread(all, 8), Percentile = 99.9 }),
                ("min-max, 8 images", new() { Calibration = CalibrationImages.Spread(all, 8), Method = CalibrationMethod.MinMax }),
                ("percentile 99.999, 8 images, output conv int8", new() { Calibration = CalibrationImages.Spread(all, 8), QuantizeOutputConvolution = true }),
                ("percentile 99.999, 2 images", new() { Calibration = CalibrationImages.Spread(all, 2) }),
                ("percentile 99.999, 30 images", new() { Calibration = all }),
            })
            {
                string path = _dir.File("int8.onnx");
                OnnxExport.Save(model, path, new OnnxExportOptions { Int8 = q });
                output.WriteLine(Row(name, Measure(path, data, slices, reference.Probabilities)));
            }
    }
}
