using System.CommandLine;
using System.Diagnostics;
using UNet.Segmentation.Distributed.Mpi;
using UNet.Segmentation.Inference;
using UNet.Segmentation.Inference.Streaming;
using UNet.Segmentation.Onnx;
using UNet.Segmentation.Runtime;

namespace UNet.Segmentation.Cli;

/// <summary>
/// <c>unet predict (--onnx F | --checkpoint C) --input X --output-dir D</c>: one predictor, either
/// engine, over a TIFF volume (streamed page by page and resumable, <see cref="VolumePrediction"/>),
/// an image file, a folder of images, or with <c>--pages</c> a folder of slices as one volume. Both
/// engines share the pipeline and the outputs (<see cref="SegmentationPredictor{TOptions}"/>).
/// Under <c>mpirun -np N</c> (or <c>--nproc-per-node N</c>) the ranks share the work: a volume's
/// pages (<see cref="SegmentationPredictor{TOptions}.PredictStack"/>), or the image files.
/// </summary>
internal static class PredictCommand
{
    private static readonly string[] ImageExtensions = [".png", ".jpg", ".jpeg", ".tif", ".tiff"];

    public static Command Create(IReadOnlyList<string> args)
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
        var minSegment = new Option<int?>("--min-segment-pixels")
        {
            Description = "post-processing: interior segments (4-connected, probability >= 0.5) of fewer pixels become membrane",
        };
        var cuda = new Option<bool>("--cuda") { Description = "run on CUDA: TorchSharp's cuda:LOCAL_RANK, or ONNX Runtime's CUDA provider on that device (needs the CUDA packages)" };
        var model = new Option<string>("--model") { Description = "unet (the 2-D U-Net) or nnunet (--checkpoint of an nnU-Net, --input an MSD task folder: its test cases become NIfTI labels)", DefaultValueFactory = _ => "unet" };
        model.AcceptOnlyFromAmong("unet", "nnunet");
        var probabilitiesFlag = new Option<bool>("--probabilities") { Description = "with --model nnunet: also write <id>_probabilities.nii.gz" };
        var bf16 = new Option<bool>("--bf16") { Description = "with --model nnunet: compute the convolutions in bfloat16" };
        var nproc = new Option<int?>("--nproc-per-node", "--nproc_per_node") { Description = "share the pages among N ranks on this machine through Open MPI's mpirun (many machines: mpirun -np N --hostfile H unet predict ...)" };
        var command = new Command("predict",
            "Segment a TIFF volume, an image or a folder of images with an ONNX export (ONNX Runtime, no libtorch) or a checkpoint (TorchSharp).")
        {
            onnx, checkpoint, input, output, tiled, overlap, tta, threads, pages, minSegment, cuda, nproc, model, probabilitiesFlag, bf16,
        };
        command.SetAction(parse =>
        {
            if (parse.GetValue(nproc) is { } n) return CliErrors.Guard(() => Launcher.Run(n, args));
            // Started by mpirun: this process is one rank, and the ranks share the pages.
            MpiWorld? world = null;
            int code = CliErrors.Guard(() =>
            {
                world = MpiWorld.IsLaunchedByMpi() ? MpiWorld.Initialize() : null;
                if (world is { Size: > 1 }) RankOutput.Install(world.Rank);
                return Predict(parse, world);
            });
            // The ranks agree on failures inside a shared prediction; one that fails elsewhere must not leave the others waiting.
            if (code is not (0 or 130) && world is { Size: > 1 }) world.Abort(code);
            world?.Dispose();
            return code;
        });
        return command;

        int Predict(ParseResult parse, MpiWorld? world)
        {
            var (onnxFile, checkpointFile) = (parse.GetValue(onnx), parse.GetValue(checkpoint));
            if (parse.GetValue(model) == "nnunet")
            {
                if (checkpointFile is null || onnxFile is not null) throw new ArgumentException("--model nnunet runs a --checkpoint FILE (saved by NnUNetModel.Save)");
                var task = parse.GetValue(input) ?? throw new ArgumentException("--input TASK_FOLDER is required");
                var into = parse.GetValue(output) ?? throw new ArgumentException("--output-dir FOLDER is required");
                return NnUNetPrediction.Run(Existing(checkpointFile, "--checkpoint"), task.FullName, into.FullName, parse.GetValue(overlap),
                    parse.GetValue(tta), parse.GetValue(bf16), parse.GetValue(probabilitiesFlag), parse.GetValue(threads));
            }
            if ((onnxFile is null) == (checkpointFile is null)) throw new ArgumentException("give one of --onnx FILE and --checkpoint FILE");
            var source = parse.GetValue(input) ?? throw new ArgumentException("--input FILE|FOLDER is required");
            var outputDir = parse.GetValue(output) ?? throw new ArgumentException("--output-dir FOLDER is required");
            bool asPages = parse.GetValue(pages);
            if (asPages && !Directory.Exists(source.FullName)) throw new ArgumentException($"--pages needs --input to be a folder of slices; {source.FullName} is not a folder");
            var inputs = asPages ? [source.FullName] : Inputs(source.FullName);
            IPageRanks ranks = world is { Size: > 1 } ? world : SingleRank.Instance;
            int localRank = world?.LocalRank ?? 0;
            bool onCuda = parse.GetValue(cuda);
            var shared = new OnnxPredictorOptions
            {
                Input = parse.GetValue(tiled) ? InputMode.OverlapTile : InputMode.ReferenceResize,
                TileOverlap = parse.GetValue(overlap),
                FlipTta = parse.GetValue(tta),
                Threads = parse.GetValue(threads) ?? ThreadsPerRank(ranks),
                PostProcessing = parse.GetValue(minSegment) is { } min ? new SmallSegmentRemoval(min) : null,
                ExecutionProvider = onCuda ? OnnxExecutionProvider.Cuda : OnnxExecutionProvider.Cpu,
                CudaDevice = localRank,
            };
            if (shared.Validate() is { Count: > 0 } bad)
                throw new ArgumentException(string.Join("; ", bad).Replace(nameof(PredictionOptions.TileOverlap), "--overlap").Replace(nameof(OnnxPredictorOptions.Threads), "--threads").Replace("PostProcessing.MinPixels", "--min-segment-pixels"));
            var clock = Stopwatch.StartNew();
            if (onnxFile is not null)
            {
                using var predictor = OnnxPredictor.Load(Existing(onnxFile, "--onnx"), shared);
                int code = Run(predictor, inputs, outputDir.FullName, $"ONNX Runtime ({predictor.Path})", asPages, ranks);
                if (code != 0) return code;
            }
            else
            {
                if (shared.Threads is { } n) TorchSharp.torch.set_num_threads(n);
                var options = new PredictorOptions
                {
                    Input = shared.Input, TileOverlap = shared.TileOverlap, FlipTta = shared.FlipTta, PostProcessing = shared.PostProcessing,
                    Device = onCuda ? new TorchSharp.torch.Device(TorchSharp.DeviceType.CUDA, localRank) : null,
                };
                using var predictor = Predictor.FromCheckpoint(Existing(checkpointFile!, "--checkpoint"), options);
                int code = Run(predictor, inputs, outputDir.FullName, $"TorchSharp ({checkpointFile!.FullName})", asPages, ranks);
                if (code != 0) return code;
            }
            Console.WriteLine($"predicted {inputs.Count} file(s) in {clock.Elapsed.TotalSeconds:F1} s into {outputDir.FullName}");
            return 0;
        }
    }

    /// <summary>A rank's share of the machine's cores when the ranks share it and --threads is not given (OMP_NUM_THREADS, set by the launcher, first).</summary>
    private static int? ThreadsPerRank(IPageRanks ranks)
    {
        if (ranks.Size == 1) return null;
        if (int.TryParse(Environment.GetEnvironmentVariable("OMP_NUM_THREADS"), out int omp) && omp > 0) return omp;
        int local = int.TryParse(Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_LOCAL_SIZE"), out int l) && l > 0 ? l : ranks.Size;
        return Math.Max(1, Environment.ProcessorCount / local);
    }

    private static int Run<T>(SegmentationPredictor<T> predictor, IReadOnlyList<string> inputs, string outputDir, string engine, bool pages, IPageRanks ranks)
        where T : PredictionOptions
    {
        string shared = ranks.Size > 1 ? $"; rank {ranks.Rank} of {ranks.Size}" : "";
        Console.WriteLine($"engine: {engine}; input {predictor.Options.Input}{(predictor.Options.FlipTta ? " with flip TTA" : "")}{shared}");
        if (pages) return VolumePrediction.Pages(predictor, inputs[0], outputDir, ranks);
        for (int i = 0; i < inputs.Count; i++)
        {
            string file = inputs[i];
            if (IsVolume(file, predictor))
            {
                // streamed page by page, resumable: the same command continues an interrupted run; the ranks share the pages
                int code = VolumePrediction.Stack(predictor, file, outputDir, ranks);
                if (code != 0) return code;
            }
            else if (i % ranks.Size == ranks.Rank)
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
