using System.Text.Json;
using UNet.Segmentation.Data.Msd;
using UNet.Segmentation.Imaging.Nifti;
using UNet.Segmentation.Model.NnUNet;
using UNet.Segmentation.Training;

namespace UNet.Segmentation.Cli.Tests;

/// <summary><c>unet --model nnunet</c> beyond 3-D training: <c>--dim 2</c>, <c>--exec-mode evaluate</c>, <c>--benchmark</c>, and a 2-D checkpoint through <c>unet predict</c>; tiny runs.</summary>
public sealed class NnUNetCliModesTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("unet-cli-nnunet-modes-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static JsonElement Json(string path) => JsonDocument.Parse(File.ReadAllText(path)).RootElement;

    [Fact]
    public void TwoD_TrainsEvaluatesAndPredictsNiftiOfTheInputsShape()
    {
        string modelDir = Path.Combine(_dir, "m2");
        string[] common = ["--model", "nnunet", "--dim", "2", "--filters", "4", "--patch", "16", "--model-dir", modelDir];
        var (code, output) = CliProcess.Run([.. common, "--exec-mode", "train_and_evaluate", "--max-steps", "4", "--batch-size", "4", "--log-every", "2"]);
        Assert.True(code == 0, output);
        Assert.Contains("nnunet, 2-D", output);
        Assert.Contains("16² slice patches", output);
        Assert.Contains("Dice per region", output);
        string checkpoint = Checkpoints.Latest(Path.Combine(modelDir, "checkpoints")) ?? throw new Xunit.Sdk.XunitException($"no checkpoint:\n{output}");
        using (var model = NnUNetModel.Load(checkpoint))
        {
            Assert.Equal(2, model.Options.SpatialDims);
            Assert.Equal([16, 16], model.Options.PatchSize);
        }
        var trained = Json(Path.Combine(modelDir, "metrics.json"));
        Assert.Equal(4, trained.GetProperty("steps").GetInt64());
        Assert.Equal(["WT", "TC", "ET"], trained.GetProperty("regions").EnumerateObject().Select(r => r.Name));
        Assert.Equal(3, trained.GetProperty("dice_per_class").EnumerateObject().Count());

        // evaluate: the checkpoint again through the sliding window, the same validation cases and numbers.
        File.Delete(Path.Combine(modelDir, "metrics.json"));
        var (evalCode, evalOutput) = CliProcess.Run([.. common, "--exec-mode", "evaluate"]);
        Assert.True(evalCode == 0, evalOutput);
        var evaluated = Json(Path.Combine(modelDir, "metrics.json"));
        Assert.Equal(trained.GetProperty("validation_cases").GetRawText(), evaluated.GetProperty("validation_cases").GetRawText());
        Assert.Equal(trained.GetProperty("dice").GetDouble(), evaluated.GetProperty("dice").GetDouble(), 6);

        // The 2-D checkpoint predicts the test cases slice by slice into NIfTI of each input's shape.
        var task = MsdTask.Load(Path.Combine(modelDir, "synthetic-task"));
        string predictions = Path.Combine(_dir, "predictions");
        var (predictCode, predictOutput) = CliProcess.Run("predict", "--model", "nnunet", "--checkpoint", checkpoint, "--input", task.Folder, "--output-dir", predictions);
        Assert.True(predictCode == 0, predictOutput);
        Assert.Contains("slice by slice", predictOutput);
        Assert.NotEmpty(task.Test);
        foreach (var item in task.Test)
        {
            var input = NiftiFile.Read(item.ImagePath);
            var labels = NiftiFile.Read(Path.Combine(predictions, $"{item.Id}.nii.gz"));
            Assert.Equal(input.Shape[..3], labels.Shape);
            Assert.Equal(input.GetAffine(), labels.GetAffine());
        }

        // The wrong --dim for that checkpoint is one line naming both.
        var (wrongCode, wrongOutput) = CliProcess.Run(["--model", "nnunet", "--dim", "3", "--model-dir", modelDir, "--exec-mode", "evaluate", "--checkpoint", checkpoint]);
        Assert.Equal(2, wrongCode);
        Assert.Contains("error: --dim 3: --checkpoint", wrongOutput);
        Assert.Contains("holds a 2-D nnU-Net", wrongOutput);
        Assert.DoesNotContain("Exception", wrongOutput);

        // Training on in a model dir whose checkpoints are 2-D, with --dim 3: refused before anything runs.
        var (resumeCode, resumeOutput) = CliProcess.Run(["--model", "nnunet", "--dim", "3", "--model-dir", modelDir, "--exec-mode", "train"]);
        Assert.Equal(2, resumeCode);
        Assert.Contains("error: --dim 3: --model-dir's newest checkpoint", resumeOutput);

        // Inference benchmark of the checkpoint: patches/s and volumes/s in the U-Net's file format.
        var (benchCode, benchOutput) = CliProcess.Run([.. common, "--exec-mode", "evaluate", "--benchmark", "--max-steps", "3", "--warmup-steps", "1", "--log-dir", Path.Combine(_dir, "bench")]);
        Assert.True(benchCode == 0, benchOutput);
        foreach (string mode in new[] { "test", "predict" })
        {
            var report = Json(Path.Combine(_dir, "bench", $"benchmark-{mode}.json"));
            Assert.Equal([$"throughput_{mode}", $"latency_{mode}_mean", $"latency_{mode}_90", $"latency_{mode}_95", $"latency_{mode}_99"], report.EnumerateObject().Select(p => p.Name));
            Assert.All(report.EnumerateObject(), p => Assert.True(p.Value.GetDouble() > 0, $"{mode}: {p.Name}"));
        }
        Assert.Contains("patches/s", benchOutput);
        Assert.Contains("volumes/s", benchOutput);
    }

    [Fact]
    public void ThreeD_TrainingBenchmark_WritesTheUNetsBenchmarkFile()
    {
        string modelDir = Path.Combine(_dir, "b3");
        var (code, output) = CliProcess.Run("--model", "nnunet", "--dim", "3", "--exec-mode", "train", "--benchmark", "--max-steps", "3", "--warmup-steps", "1",
            "--batch-size", "1", "--filters", "4", "--patch", "16", "--model-dir", modelDir);
        Assert.True(code == 0, output);
        var report = Json(Path.Combine(modelDir, "benchmark-train.json"));
        Assert.Equal(["throughput_train", "latency_train_mean", "latency_train_90", "latency_train_95", "latency_train_99"], report.EnumerateObject().Select(p => p.Name));
        Assert.Contains("2 steps after 1 warm-up, batch 1", output);
        Assert.Null(Checkpoints.Latest(Path.Combine(modelDir, "checkpoints"))); // a benchmark trains nothing to keep

        var (tooFew, message) = CliProcess.Run("--model", "nnunet", "--exec-mode", "train", "--benchmark", "--max-steps", "2", "--warmup-steps", "2", "--patch", "16", "--model-dir", modelDir);
        Assert.Equal(2, tooFew);
        Assert.Contains("error: --max-steps (2) must exceed --warmup-steps (2) in benchmark mode", message);
    }
}
