using UNet.Segmentation.Data.Msd;
using UNet.Segmentation.Imaging.Nifti;
using UNet.Segmentation.Model.NnUNet;
using static TorchSharp.torch;

namespace UNet.Segmentation.Cli.Tests;

/// <summary><c>unet predict --model nnunet</c> on a synthetic MSD task: one label file per test case, in its image's space.</summary>
public sealed class PredictNnUNetCliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cli-nnunet-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void TestCases_BecomeNiftiLabelsAndProbabilities()
    {
        var task = SyntheticMsd.Generate(Path.Combine(_dir, "Task01_Synthetic"), new SyntheticMsdOptions { TrainingCases = 2, TestCases = 2, Size = new Shape3D(16, 20, 24) });
        var options = NnUNetPlan.For([8, 16, 16], [1.0, 1.0, 1.0], inputChannels: 4, classes: 4, minFeatureMap: 2) with { BaseFilters = 4, MaxFilters = 8 };
        string checkpoint = Path.Combine(_dir, "nnunet.safetensors");
        manual_seed(2);
        using (var model = new NnUNetModel(options)) model.Save(checkpoint);
        string output = Path.Combine(_dir, "out");
        var (code, text) = CliProcess.Run("predict", "--model", "nnunet", "--checkpoint", checkpoint, "--input", task.Folder, "--output-dir", output, "--tta", "--probabilities");
        Assert.True(code == 0, text);
        Assert.Contains("8 pass(es) per window", text);
        foreach (var item in task.Test)
        {
            var input = NiftiFile.Read(item.ImagePath);
            var labels = NiftiFile.Read(Path.Combine(output, $"{item.Id}.nii.gz"));
            var probabilities = NiftiFile.Read(Path.Combine(output, $"{item.Id}_probabilities.nii.gz"));
            Assert.Equal(input.Shape[..3], labels.Shape);
            Assert.Equal([.. input.Shape[..3], 4], probabilities.Shape);
            Assert.Equal(input.GetAffine(), labels.GetAffine());
        }
    }

    [Fact]
    public void AnOnnxFile_IsRefusedWithOneLine()
    {
        var (code, text) = CliProcess.Run("predict", "--model", "nnunet", "--onnx", Path.Combine(_dir, "x.onnx"), "--input", _dir, "--output-dir", _dir);
        Assert.NotEqual(0, code);
        Assert.Contains("--model nnunet runs a --checkpoint", text);
    }
}
