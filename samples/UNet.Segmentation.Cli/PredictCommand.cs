using System.CommandLine;
using System.Diagnostics;
using UNet.Segmentation.Inference;
using UNet.Segmentation.Onnx;
using UNet.Segmentation.Runtime;

namespace UNet.Segmentation.Cli;

/// <summary>
/// <c>unet predict (--onnx F | --checkpoint C) --input X --output-dir D</c>: one predictor, either
/// engine, over a TIFF volume (streamed page by page and resumable, <see cref="VolumePrediction"/>),
/// an image file, a folder of images, or with <c>--pages</c> a folder of slices as one volume. Both
/// engines share the pipeline and the outputs (<see cref="SegmentationPredictor{TOptions}"/>).
/// </summary>
internal static class PredictCommand
{
    private static readonly string[] ImageExtensions = [".png", ".jpg", ".jpeg", ".tif", ".tiff"];

    public static Command Create()
    {
        var onnx = new Option<FileInfo?>("--onnx") { Description = "an exported U-Net (unet export) to run on ONNX Runtime" };
        var checkpoint = new Option<FileInfo?>("--checkpoint") { Description = "a checkpoint to run on TorchSharp instead" };
        var input = new Option<FileInfo?>("--input") { Description = "a multi-page 8-bit TIFF volume (grey two-class models), an image file, or a folder of images" };
        var output = new Option<DirectoryInfo?>("--output-dir") { Description = "where the outputs go (made as needed)" };
        var tiled = new Option<bool>("--tiled") { Description = "sliding window at full resolution instead of the reference's resize" };
        var overlap = new Option<double>("--overlap") { Description = "with --tiled: the tiles' overlap, in [0, 1)", DefaultValueFactory = _ => 0.5 };
        var tta = new Option<bool>("--tta") { Description = "flip test-time augmentation" };
        var threads = new Option<int?>("--threads") { Description = "CPU threads (ONNX Runtime's intra-op pool, or libtorch's)" };
        var pages = new Option<bool>("--pages")
        {
            Description = "read a folder as the slices of one volume (8-bit grey, natural name order) and write NAME-probabilities.tif and NAME-mask.tif per slice, streamed and resumable",
        };
        var command = new Command("predict",
            "Segment a TIFF volume, an image or a folder of images with an ONNX export (ONNX Runtime, no libtorch) or a checkpoint (TorchSharp).")
        {
            onnx, checkpoint, input, output, tiled, overlap, tta, threads, pages,
        };
        command.SetAction(parse => CliErrors.Guard(() =>
        {
            var (onnxFile, checkpointFile) = (parse.GetValue(onnx), parse.GetValue(checkpoint));
            if ((onnxFile is null) == (checkpointFile is null)) throw new ArgumentException("give one of --onnx FILE and --checkpoint FILE");
            var source = parse.GetValue(input) ?? throw new ArgumentException("--input FILE|FOLDER is required");
            var outputDir = parse.GetValue(output) ?? throw new ArgumentException("--output-dir FOLDER is required");
            bool asPages = parse.GetValue(pages);
            if (asPages && !Directory.Exists(source.FullName)) throw new ArgumentException($"--pages needs --input to be a folder of slices; {source.FullName} is not a folder");
            var inputs = asPages ? [source.FullName] : Inputs(source.FullName);
            var shared = new OnnxPredictorOptions
            {
                Input = parse.GetValue(tiled) ? InputMode.OverlapTile : InputMode.ReferenceResize,
                TileOverlap = parse.GetValue(overlap),
                FlipTta = parse.GetValue(tta),
                Threads = parse.GetValue(threads),
            };
            if (shared.Validate() is { Count: > 0 } bad)
                throw new ArgumentException(string.Join("; ", bad).Replace(nameof(PredictionOptions.TileOverlap), "--overlap").Replace(nameof(OnnxPredictorOptions.Threads), "--threads"));
            var clock = Stopwatch.StartNew();
            if (onnxFile is not null)
            {
                using var predictor = OnnxPredictor.Load(Existing(onnxFile, "--onnx"), shared);
                int code = Run(predictor, inputs, outputDir.FullName, $"ONNX Runtime ({predictor.Path})", asPages);
                if (code != 0) return code;
            }
            else
            {
                if (shared.Threads is { } n) TorchSharp.torch.set_num_threads(n);
                var options = new PredictorOptions { Input = shared.Input, TileOverlap = shared.TileOverlap, FlipTta = shared.FlipTta };
                using var predictor = Predictor.FromCheckpoint(Existing(checkpointFile!, "--checkpoint"), options);
                int code = Run(predictor, inputs, outputDir.FullName, $"TorchSharp ({checkpointFile!.FullName})", asPages);
                if (code != 0) return code;
            }
            Console.WriteLine($"predicted {inputs.Count} file(s) in {clock.Elapsed.TotalSeconds:F1} s into {outputDir.FullName}");
            return 0;
        }));
        return command;
    }

    private static int Run<T>(SegmentationPredictor<T> predictor, IReadOnlyList<string> inputs, string outputDir, string engine, bool pages) where T : PredictionOptions
    {
        Console.WriteLine($"engine: {engine}; input {predictor.Options.Input}{(predictor.Options.FlipTta ? " with flip TTA" : "")}");
        if (pages) return VolumePrediction.Pages(predictor, inputs[0], outputDir);
        foreach (string file in inputs)
        {
            if (IsVolume(file, predictor))
            {
                // streamed page by page, resumable: the same command continues an interrupted run
                int code = VolumePrediction.Stack(predictor, file, outputDir);
                if (code != 0) return code;
            }
            else
            {
                var r = predictor.PredictImageFile(file, outputDir);
                Console.WriteLine($"{file}: {r.Width}x{r.Height} in {r.Elapsed.TotalSeconds:F1} s -> {r.MaskPath}, {r.ProbabilitiesPath}");
            }
        }
        return 0;
    }

    /// <summary>A TIFF given to a grey two-class model is a volume (every page a slice), as the ISBI files.</summary>
    private static bool IsVolume<T>(string file, SegmentationPredictor<T> predictor) where T : PredictionOptions =>
        Path.GetExtension(file).ToLowerInvariant() is ".tif" or ".tiff" && predictor is { InputChannels: 1, Classes: >= 2 };

    private static List<string> Inputs(string path)
    {
        if (Directory.Exists(path))
        {
            var files = Directory.EnumerateFiles(path).Where(f => ImageExtensions.Contains(Path.GetExtension(f).ToLowerInvariant())).Order(StringComparer.Ordinal).ToList();
            return files.Count > 0 ? files : throw new ArgumentException($"--input {path} holds no PNG, JPEG or TIFF files");
        }
        if (!File.Exists(path)) throw new FileNotFoundException($"--input {path} does not exist", path);
        return [path];
    }

    private static string Existing(FileInfo file, string flag) =>
        Directory.Exists(file.FullName) ? throw new ArgumentException($"{flag} {file.FullName} is a folder, not a file")
        : file.Exists ? file.FullName : throw new FileNotFoundException($"{flag} {file.FullName} does not exist", file.FullName);
}
