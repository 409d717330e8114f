// The package consumer test: everything below comes from the UNet.Segmentation package and the
// TorchSharp-cpu backend. Builds the reference U-Net, checks its size, trains one step on a
// synthetic EM slice, saves, reloads and predicts; writes the prediction as a TIFF (LibTiff.NET)
// and a PNG (SkiaSharp, whose native library comes through the package's dependencies) and reads
// both back; then prints "consumer: images ok" and
// "consumer: ok <parameters> parameters 572-><output> <loss>". Given a folder (args[0]), it also
// exports the model to ONNX there (unet.onnx) with the slice (slice.tif), its probabilities
// (torch-probabilities.tif) and its labels (slice-labels.tif), for the ONNX consumer to predict
// and score with ONNX Runtime and UNet.Segmentation.Core alone.
using UNet.Segmentation.Data;
using UNet.Segmentation.Export;
using UNet.Segmentation.Imaging;
using UNet.Segmentation.Inference;
using UNet.Segmentation.Model;
using UNet.Segmentation.Training;

var data = IsbiDataset.Synthetic(new SyntheticEmOptions { Slices = 6, Size = 512 });
string file = Path.Combine(Path.GetTempPath(), $"unet-consumer-{Environment.ProcessId}.safetensors");
string tiff = Path.ChangeExtension(file, ".tif"), png = Path.ChangeExtension(file, ".png");
try
{
    double loss;
    long parameters;
    int output;
    using (var model = new UNetModel(UNetOptions.Reference))
    {
        parameters = model.parameters().Sum(p => p.numel());
        output = model.OutputSize(572);
        using var trainer = Trainer.For(model).WithSteps(1, 1).WithLogging(1).Build();
        var result = trainer.Fit(data, data.Fold(0));
        if (result.Steps != 1 || result.History.Count == 0)
            throw new InvalidOperationException($"expected 1 logged step, got {result.Steps} steps and {result.History.Count} records");
        loss = result.History[^1].Loss;
        if (!double.IsFinite(loss)) throw new InvalidOperationException($"loss is {loss}");
        model.Save(file);
    }

    using var reloaded = UNetModel.Load(file);
    using var predictor = new Predictor(reloaded);
    float[] interior = predictor.PredictSlice(data.TrainImages.Span[..(512 * 512)], 512, 512);
    if (interior.Length != 512 * 512 || interior.Any(p => !(p >= 0f && p <= 1f)))
        throw new InvalidOperationException("the prediction is not one probability in [0, 1] per pixel");

    byte[] mask = interior.Select(p => p >= 0.5f ? (byte)255 : (byte)0).ToArray();
    Tiff.Write(tiff, new TiffVolume(1, 512, 512, interior), TiffCompression.Deflate);
    Png.WriteGray(png, mask, 512, 512);
    if (!Tiff.Read(tiff).GetFloat32().SequenceEqual(interior))
        throw new InvalidOperationException("the probabilities TIFF did not read back as written");
    var image = ImageFiles.Read(png);
    if (image.Format != ImageFileFormat.Png || !image.Samples.SequenceEqual(mask.Select(v => (ushort)v)))
        throw new InvalidOperationException("the mask PNG did not read back as written");
    Console.WriteLine("consumer: images ok");
    if (args.Length == 1)
    {
        Directory.CreateDirectory(args[0]);
        var written = OnnxExport.Save(reloaded, Path.Combine(args[0], "unet.onnx"));
        Tiff.Write(Path.Combine(args[0], "slice.tif"), new TiffVolume(1, 512, 512, data.TrainImages.Span[..(512 * 512)].ToArray()));
        Tiff.Write(Path.Combine(args[0], "torch-probabilities.tif"), new TiffVolume(1, 512, 512, interior));
        Tiff.Write(Path.Combine(args[0], "slice-labels.tif"), new TiffVolume(1, 512, 512, data.TrainLabels.Span[..(512 * 512)].ToArray()));
        Console.WriteLine($"consumer: exported {written.Path}");
    }
    Console.WriteLine($"consumer: ok {parameters} parameters 572->{output} {loss:F4}");
    return 0;
}
finally
{
    File.Delete(file);
    File.Delete(tiff);
    File.Delete(png);
}
