using UNet.Segmentation.Data;
using UNet.Segmentation.Export;
using UNet.Segmentation.Imaging;
using UNet.Segmentation.Inference;
using UNet.Segmentation.Model;
using UNet.Segmentation.Onnx;
using UNet.Segmentation.Training;
using static TorchSharp.torch;

namespace UNet.Segmentation.Tests.Onnx;

/// <summary>
/// The ONNX Runtime predictor against the TorchSharp predictor on the same weights, for every
/// predictor option: probabilities within 1e-4, the same files out.
/// </summary>
public sealed class OnnxPredictorParityTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("onnx-parity-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static TheoryData<InputMode, bool> EveryOption() => new()
    {
        { InputMode.ReferenceResize, false }, { InputMode.ReferenceResize, true },
        { InputMode.OverlapTile, false }, { InputMode.OverlapTile, true },
    };

    /// <summary>One 300×420 grey image in [−1, 1]: one tile high, two wide with the reference's 388² outputs.</summary>
    private static FloatImages Image(int channels = 1, int h = 300, int w = 420)
    {
        var random = new Random(5);
        var data = new float[channels * h * w];
        for (int i = 0; i < data.Length; i++) data[i] = (float)(random.NextDouble() * 2 - 1);
        return new FloatImages(data, 1, channels, h, w);
    }

    private static double MaxAbsDiff(FloatImages a, FloatImages b)
    {
        Assert.Equal(a.ToString(), b.ToString());
        double max = 0;
        for (int i = 0; i < a.Data.Length; i++) max = Math.Max(max, Math.Abs(a.Data[i] - b.Data[i]));
        return max;
    }

    private string Export(UNetModel model, string name)
    {
        string path = Path.Combine(_dir, name);
        OnnxExport.Save(model, path);
        return path;
    }

    [Theory]
    [MemberData(nameof(EveryOption))]
    public void TheReferenceModelWithRandomWeights_PredictsTheSameOnBothEngines(InputMode input, bool tta)
    {
        manual_seed(11);
        using var model = new UNetModel(UNetOptions.Reference);
        string onnx = Export(model, "reference.onnx");
        var image = Image();
        using var torch = new Predictor(model, new PredictorOptions { Input = input, FlipTta = tta });
        using var ort = OnnxPredictor.Load(onnx, new OnnxPredictorOptions { Input = input, FlipTta = tta, Threads = 2 });
        var expected = torch.PredictProbabilities(image);
        var actual = ort.PredictProbabilities(image);
        Assert.True(MaxAbsDiff(expected, actual) <= 1e-4, $"max |Δp| {MaxAbsDiff(expected, actual)}");
        Assert.Equal((572, 388), (ort.InputSize, ort.OutputSize));
    }

    /// <summary>A small reference-shaped model trained for a few steps on synthetic EM, saved and reloaded as a checkpoint.</summary>
    private string TrainedCheckpoint()
    {
        var data = IsbiDataset.Synthetic(new SyntheticEmOptions { Slices = 6, Size = 64, MeanCellDiameter = 16, MembraneWidthMin = 1, MembraneWidthMax = 3 });
        manual_seed(3);
        using var model = new UNetModel(UNetOptions.Reference with { BaseFilters = 4, Depth = 2, InputSize = 92 });
        var before = model.parameters().First().clone();
        using (var trainer = Trainer.For(model).WithData(DataOptions.Reference with { InputSize = 92, OutputSize = 52 }).WithSteps(8, batchSize: 2).WithAdam(1e-2).Build())
            trainer.Fit(data, new FoldSplit(0, [0, 1, 2, 3], [4, 5]));
        Assert.True(model.parameters().First().sub(before).abs().max().item<float>() > 1e-4, "training moved the weights");
        string path = Path.Combine(_dir, "trained.safetensors");
        model.Save(path);
        return path;
    }

    [Fact]
    public void ATrainedCheckpoint_PredictsTheSameOnBothEngines_ForEveryOption_AndWritesTheSameFiles()
    {
        string checkpoint = TrainedCheckpoint();
        string onnx;
        using (var model = UNetModel.Load(checkpoint)) onnx = Export(model, "trained.onnx");
        var image = Image(h: 75, w: 130);
        foreach (var (input, tta) in EveryOption().Select(row => row.Data))
        {
            using var torch = Predictor.FromCheckpoint(checkpoint, new PredictorOptions { Input = input, FlipTta = tta, BatchSize = 3 });
            using var ort = OnnxPredictor.Load(onnx, new OnnxPredictorOptions { Input = input, FlipTta = tta, BatchSize = 3 });
            double diff = MaxAbsDiff(torch.PredictProbabilities(image), ort.PredictProbabilities(image));
            Assert.True(diff <= 1e-4, $"{input}, TTA {tta}: max |Δp| {diff}");
        }

        // The files: a 3-page volume through both, probabilities within 1e-4, masks equal away from p ≈ 0.5.
        var random = new Random(9);
        var pages = new byte[3 * 70 * 90];
        random.NextBytes(pages);
        string volume = Path.Combine(_dir, "volume.tif");
        Tiff.Write(volume, new TiffVolume(3, 70, 90, pages));
        using (var torch = Predictor.FromCheckpoint(checkpoint, PredictorOptions.Tiled))
            torch.PredictVolume(volume, Path.Combine(_dir, "t-p.tif"), Path.Combine(_dir, "t-m.tif"));
        using (var ort = OnnxPredictor.Load(onnx, OnnxPredictorOptions.Tiled))
        {
            var result = ort.PredictVolume(volume, Path.Combine(_dir, "o-p.tif"), Path.Combine(_dir, "o-m.tif"), Path.Combine(_dir, "overlays"));
            Assert.Equal((3, 70, 90), (result.PageCount, result.Height, result.Width));
            Assert.Equal(3, result.OverlayPaths.Count);
        }
        var (tp, op) = (Tiff.Read(Path.Combine(_dir, "t-p.tif")).GetFloat32(), Tiff.Read(Path.Combine(_dir, "o-p.tif")).GetFloat32());
        var (tm, om) = (Tiff.Read(Path.Combine(_dir, "t-m.tif")).GetUInt8(), Tiff.Read(Path.Combine(_dir, "o-m.tif")).GetUInt8());
        Assert.Equal(tp.Length, op.Length);
        for (int i = 0; i < tp.Length; i++)
        {
            Assert.True(Math.Abs(tp[i] - op[i]) <= 1e-4, $"pixel {i}: {tp[i]} vs {op[i]}");
            if (Math.Abs(tp[i] - 0.5f) > 1e-4) Assert.Equal(tm[i], om[i]);
        }
    }

    [Fact]
    public void ImageFiles_GiveTheSameMaskAndProbabilities_OnBothEngines()
    {
        manual_seed(4);
        using var model = new UNetModel(UNetOptions.Reference with { BaseFilters = 4, Depth = 2, InputSize = 92, InputChannels = 3, Classes = 3 });
        string onnx = Export(model, "rgb.onnx");
        var rgb = new byte[50 * 61 * 3];
        new Random(2).NextBytes(rgb);
        string png = Path.Combine(_dir, "cells.png");
        Png.WriteRgb(png, rgb, 61, 50);
        using var torch = new Predictor(model, PredictorOptions.Tiled);
        using var ort = OnnxPredictor.Load(onnx, OnnxPredictorOptions.Tiled);
        var t = torch.PredictImageFile(png, Path.Combine(_dir, "torch"));
        var o = ort.PredictImageFile(png, Path.Combine(_dir, "ort"));
        var (tp, op) = (Tiff.Read(t.ProbabilitiesPath), Tiff.Read(o.ProbabilitiesPath));
        Assert.Equal((3, 50, 61), (op.PageCount, op.Height, op.Width));
        var (a, b) = (tp.GetFloat32(), op.GetFloat32());
        Assert.True(a.Zip(b, (x, y) => Math.Abs(x - y)).Max() <= 1e-4);
        Assert.Equal(t.ClassShares.Count, o.ClassShares.Count);
        for (int k = 0; k < 3; k++) Assert.Equal(t.ClassShares[k], o.ClassShares[k], 2);
        Assert.True(File.Exists(o.MaskPath) && File.Exists(o.OverlayPath));
    }
}
