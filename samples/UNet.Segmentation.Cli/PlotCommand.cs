using System.CommandLine;
using UNet.Segmentation.Training.Callbacks;

namespace UNet.Segmentation.Cli;

/// <summary>
/// <c>unet plot --metrics metrics.jsonl --output curves.png</c>: the training curves of a metrics
/// file (training loss and Dice, validation metrics, learning rate against the step) as one PNG.
/// </summary>
internal static class PlotCommand
{
    public static Command Create()
    {
        var metrics = new Option<FileInfo?>("--metrics") { Description = "the metrics.jsonl (JSON lines) that unet run writes in its --log-dir" };
        var output = new Option<FileInfo?>("--output") { Description = "the PNG to write (replaced atomically)" };
        var width = new Option<int>("--width") { Description = "picture width in pixels", DefaultValueFactory = _ => 1200 };
        var height = new Option<int>("--height") { Description = "picture height in pixels", DefaultValueFactory = _ => 900 };
        var command = new Command("plot",
            "Draw the training curves of a metrics file as a PNG: training loss and Dice, validation metrics and learning rate against the step.")
        {
            metrics, output, width, height,
        };
        command.SetAction(parse => CliErrors.Guard(() =>
        {
            var file = parse.GetValue(metrics) ?? throw new ArgumentException("--metrics FILE is required");
            var png = parse.GetValue(output) ?? throw new ArgumentException("--output FILE is required");
            int w = parse.GetValue(width), h = parse.GetValue(height);
            if (w < 100 || h < 150) throw new ArgumentException($"--width must be at least 100 and --height at least 150 (got {w}x{h})");
            if (Directory.Exists(file.FullName)) throw new ArgumentException($"--metrics {file.FullName} is a folder, not a metrics file");
            TrainingCurves.Plot(file.FullName, png.FullName, w, h);
            Console.WriteLine(png.FullName);
            return 0;
        }));
        return command;
    }
}
