// The package consumer test: everything below comes from the UNet.Segmentation packages.
// Trains a tiny U-Net for 3 steps on synthetic EM slices, saves it, reloads it and predicts a
// slice, then prints "consumer: ok <loss> <n> pixels".
using UNet.Segmentation.Data;
using UNet.Segmentation.Inference;
using UNet.Segmentation.Model;
using UNet.Segmentation.Training;

const int Size = 64;
var data = IsbiDataset.Synthetic(new SyntheticEmOptions { Slices = 6, Size = Size });
string file = Path.Combine(Path.GetTempPath(), $"unet-consumer-{Environment.ProcessId}.safetensors");
double loss;
try
{
    using (var model = new UNetModel(UNetOptions.Reference with { BaseFilters = 4, Depth = 2, InputSize = 92 }))
    {
        using var trainer = Trainer.For(model)
            .WithData(DataOptions.Reference with { InputSize = 92, OutputSize = 52 })
            .WithSteps(3, 2)
            .WithLogging(1)
            .Build();
        var result = trainer.Fit(data, data.Fold(0));
        if (result.Steps != 3 || result.History.Count == 0)
            throw new InvalidOperationException($"expected 3 logged steps, got {result.Steps} steps and {result.History.Count} records");
        loss = result.History[^1].Loss;
        if (!double.IsFinite(loss)) throw new InvalidOperationException($"loss is {loss}");
        model.Save(file);
    }

    using var reloaded = UNetModel.Load(file);
    using var predictor = new Predictor(reloaded);
    float[] interior = predictor.PredictSlice(data.TrainImages.Span[..(Size * Size)], Size, Size);
    if (interior.Length != Size * Size || interior.Any(p => !(p >= 0f && p <= 1f)))
        throw new InvalidOperationException("the prediction is not one probability in [0, 1] per pixel");
    Console.WriteLine($"consumer: ok {loss:F4} {interior.Length} pixels");
    return 0;
}
finally
{
    File.Delete(file);
}
