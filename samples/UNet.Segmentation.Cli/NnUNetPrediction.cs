using System.Diagnostics;
using UNet.Segmentation.Data.Msd;
using UNet.Segmentation.Inference.NnUNet;
using UNet.Segmentation.Model.NnUNet;
using static TorchSharp.torch;

namespace UNet.Segmentation.Cli;

/// <summary>
/// <c>unet predict --model nnunet --checkpoint C --input TASK --output-dir D</c>: predicts every
/// test case (imagesTs) of a Medical Segmentation Decathlon task folder with an nnU-Net saved by
/// <see cref="NnUNetModel.Save"/> or a trainer's checkpoint, 3-D (sliding window over the volume)
/// or 2-D (sliding window over each axial slice, stacked back), writing &lt;id&gt;.nii.gz (uint8 labels) and, with
/// <c>--probabilities</c>, &lt;id&gt;_probabilities.nii.gz (float32 X×Y×Z×classes), both in the
/// input image's space. The plan's target spacing and patch come from the model's options (a 2-D
/// model's z spacing from the task's training images, as its training cache resampled them).
/// </summary>
internal static class NnUNetPrediction
{
    public static int Run(string checkpoint, string taskFolder, string outputDir, double overlap, bool tta, bool bf16, bool probabilities, int? threads)
    {
        if (threads is { } n) set_num_threads(n);
        var task = MsdTask.Load(taskFolder);
        if (task.Test.Count == 0) throw new ArgumentException($"{task.DatasetJsonPath} lists no test case (imagesTs) to predict");
        using var model = NnUNetModel.Load(checkpoint);
        var o = model.Options;
        if (o.PatchSize is null || o.Spacing is null)
            throw new ArgumentException($"--checkpoint {checkpoint}: MSD cases need an nnU-Net whose options hold its patch size and spacing");
        // A 2-D network knows its in-plane spacing; z is resampled as its training cache was, to the task's target spacing.
        MsdPlan plan;
        if (o.SpatialDims == 3) plan = MsdPlan.Create(task, new MsdPreprocessingOptions { PatchSize = Shape3D.From(o.PatchSize), TargetSpacing = o.Spacing });
        else
        {
            plan = MsdPlan.Create(task, new MsdPreprocessingOptions { PatchSize = new Shape3D(1, o.PatchSize[0], o.PatchSize[1]) });
            plan = plan with { TargetSpacing = [plan.TargetSpacing[0], o.Spacing[0], o.Spacing[1]] };
        }
        if (bf16) BFloat16Warning.IfEmulated("--bf16", CPU);
        var options = new NnUNetPredictionOptions { Overlap = overlap, TestTimeAugmentation = tta, Precision = bf16 ? ScalarType.BFloat16 : ScalarType.Float32 };
        using var window = new NnUNetSlidingWindow(model, options);
        var predictor = new NnUNetCasePredictor(window, plan);
        Console.WriteLine($"engine: TorchSharp {o.SpatialDims}-D nnU-Net ({checkpoint}){(o.SpatialDims == 2 ? ", slice by slice" : "")}; window {string.Join("×", window.Window)}, overlap {overlap}, {window.PassesPerWindow} pass(es) per window, {options.Precision}");
        var clock = Stopwatch.StartNew();
        foreach (var item in task.Test)
        {
            var started = clock.Elapsed;
            var prediction = predictor.PredictToFolder(task, item, outputDir, probabilities);
            Console.WriteLine($"{item.Id}: {prediction.Properties.OriginalShape} in {(clock.Elapsed - started).TotalSeconds:F1} s");
        }
        Console.WriteLine($"predicted {task.Test.Count} case(s) in {clock.Elapsed.TotalSeconds:F1} s into {outputDir}");
        return 0;
    }
}
