using System.CommandLine;
using UNet.Segmentation.Data;
using UNet.Segmentation.Visualization;

namespace UNet.Segmentation.Cli;

/// <summary><c>unet show-batch</c>: writes one training batch, plain and augmented, as PNG images, labels and overlays.</summary>
internal static class ShowBatchCommand
{
    public static Command Create()
    {
        var data = new Option<DirectoryInfo?>("--data") { Description = "ISBI-style folder (train-volume.tif, train-labels.tif); synthetic data when absent" };
        var output = new Option<DirectoryInfo>("--out") { Description = "where the PNGs go", DefaultValueFactory = _ => new DirectoryInfo(Path.Combine("artifacts", "show-batch")) };
        var batchSize = new Option<int>("--batch-size") { Description = "samples to draw", DefaultValueFactory = _ => 4 };
        var seed = new Option<int>("--seed") { Description = "data-order and augmentation seed", DefaultValueFactory = _ => 0 };
        var fold = new Option<int>("--fold") { Description = "cross-validation fold whose training slices are drawn", DefaultValueFactory = _ => 0 };
        var command = new Command("show-batch", "Write one training batch (plain and augmented) as PNG images, labels and overlays.")
        {
            data, output, batchSize, seed, fold,
        };
        command.SetAction(parse => CliErrors.Guard(() =>
        {
            var dataset = IsbiDataset.LoadOrSynthetic(parse.GetValue(data)?.FullName);
            int size = parse.GetValue(batchSize);
            if (size < 1) throw new ArgumentOutOfRangeException("--batch-size", size, "must be at least 1");
            var split = dataset.Fold(parse.GetValue(fold));
            string dir = parse.GetValue(output)!.FullName;
            using var loader = dataset.TrainingBatches(split.Training, size, DataOptions.Reference, parse.GetValue(seed));
            using var augmented = loader.Take();
            var plain = dataset.EvaluationBatches(augmented.Slices, size).Single();
            using (plain)
            {
                var files = BatchPictures.WriteBatch(plain, dir, "plain").Concat(BatchPictures.WriteBatch(augmented, dir, "augmented")).ToList();
                Console.WriteLine($"{dataset.Source}: slices {string.Join(", ", augmented.Slices)} of fold {split.Fold}");
                foreach (var f in files) Console.WriteLine(f);
            }
            return 0;
        }));
        return command;
    }
}
