using System.CommandLine;
using System.Globalization;
using UNet.Segmentation.Export;
using UNet.Segmentation.Model;

namespace UNet.Segmentation.Cli;

/// <summary>
/// <c>unet export --checkpoint C --onnx model.onnx [--opset 17]</c>: the checkpoint's model as an
/// ONNX file for inference (docs/onnx.md), and one line saying what was written; with
/// <c>--weights W.safetensors</c> also the model alone (a training checkpoint less its optimizer
/// state: a third of the size), as <see cref="UNetModel.Save(string)"/> writes it. With
/// <c>--int8 --calibration DATA</c> the file is statically quantized to int8 (QDQ), calibrated on
/// images read from DATA (<see cref="CalibrationImages.Load"/>), and a second line says how.
/// </summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var checkpoint = new Option<FileInfo?>("--checkpoint") { Description = "a model or training checkpoint (.safetensors) written by unet or UNetModel.Save" };
        var onnx = new Option<FileInfo?>("--onnx") { Description = "the ONNX file to write; an existing file is replaced whole, or left as it was when the export fails" };
        var opset = new Option<int>("--opset")
        {
            Description = $"ONNX operator set, {OnnxExport.MinOpset}..{OnnxExport.MaxOpset}",
            DefaultValueFactory = _ => OnnxExport.DefaultOpset,
        };
        var weights = new Option<FileInfo?>("--weights") { Description = "also write the model's weights alone (no optimizer state) to this .safetensors file" };
        var int8 = new Option<bool>("--int8") { Description = "quantize statically to int8 (QDQ: int8 per-channel weights, uint8 activations calibrated on --calibration); input and outputs stay float32" };
        var calibration = new Option<string?>("--calibration")
        {
            Description = "with --int8: the calibration images — an ISBI folder (its test volume), a TIFF stack, a folder of images or one image",
        };
        var calibrationImages = new Option<int>("--calibration-images")
        {
            Description = "with --int8: how many of the calibration images, evenly spaced",
            DefaultValueFactory = _ => DefaultCalibrationImages,
        };
        var method = new Option<string>("--calibration-method")
        {
            Description = "with --int8: percentile (each activation's range clipped to its 0.001st and 99.999th percentiles) or minmax",
            DefaultValueFactory = _ => new Int8Quantization().Method.ToString().ToLowerInvariant(),
        };
        var command = new Command("export",
            "Write a checkpoint's model as an ONNX file for inference: input 'image' N x C x H x W, outputs 'probabilities' and 'logits'; batch, height and width dynamic.")
        {
            checkpoint, onnx, opset, weights, int8, calibration, calibrationImages, method,
        };
        command.SetAction(parse => CliErrors.Guard(() =>
        {
            string source = Existing(parse.GetValue(checkpoint));
            string target = Writable(parse.GetValue(onnx), "--onnx");
            string? weightsTarget = parse.GetValue(weights) is { } w ? Writable(w, "--weights") : null;
            if (weightsTarget is not null && (weightsTarget == target || weightsTarget == source))
                throw new ArgumentException($"--weights {weightsTarget} must differ from --onnx and --checkpoint");
            int version = parse.GetValue(opset);
            if (version is < OnnxExport.MinOpset or > OnnxExport.MaxOpset)
                throw new ArgumentException($"--opset must lie in {OnnxExport.MinOpset}..{OnnxExport.MaxOpset} (got {version})");
            var quantization = Quantization(parse.GetValue(int8), parse.GetValue(calibration), parse.GetValue(calibrationImages), parse.GetValue(method)!,
                parse.GetResult(calibrationImages) is { Implicit: false } || parse.GetResult(method) is { Implicit: false });
            using var model = UNetModel.Load(source);
            OnnxExportResult result;
            try
            {
                result = OnnxExport.Save(model, target, new OnnxExportOptions { Opset = version, Int8 = quantization });
            }
            catch (Int8CalibrationException e)
            {
                throw new ArgumentException($"--calibration: {e.Message.Replace($" (Parameter '{e.ParamName}')", "", StringComparison.Ordinal)}");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new ArgumentException($"--onnx {target} could not be written: {e.Message}");
            }
            Console.WriteLine(Summary(result, model.Options));
            if (result.Quantization is { } q) Console.WriteLine(QuantizationSummary(q));
            if (weightsTarget is not null)
            {
                try
                {
                    model.Save(weightsTarget);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    throw new ArgumentException($"--weights {weightsTarget} could not be written: {e.Message}");
                }
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"wrote {weightsTarget} ({new FileInfo(weightsTarget).Length / 1e6:F1} MB, the weights alone)"));
            }
            return 0;
        }));
        return command;
    }

    /// <summary>The calibration images --int8 reads by default (evenly spaced among those DATA holds).</summary>
    internal const int DefaultCalibrationImages = 8;

    /// <summary>The int8 options the flags ask for; null without --int8 (then the calibration flags are refused).</summary>
    private static Int8Quantization? Quantization(bool int8, string? data, int count, string method, bool calibrationFlagsGiven)
    {
        if (!int8)
        {
            if (data is not null || calibrationFlagsGiven)
                throw new ArgumentException("--calibration, --calibration-images and --calibration-method go with --int8");
            return null;
        }
        if (string.IsNullOrWhiteSpace(data)) throw new ArgumentException("--int8 needs --calibration DATA: an ISBI folder, a TIFF stack, a folder of images or an image");
        if (count < 1) throw new ArgumentException($"--calibration-images must be at least 1 (got {count})");
        if (int.TryParse(method, out _) || !Enum.TryParse<CalibrationMethod>(method.Trim(), ignoreCase: true, out var parsed) || !Enum.IsDefined(parsed))
            throw new ArgumentException($"--calibration-method must be {string.Join(" or ", Enum.GetNames<CalibrationMethod>().Select(n => n.ToLowerInvariant()))} (got '{method}')");
        IReadOnlyList<CalibrationImage> images;
        try
        {
            images = CalibrationImages.Load(data, count);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or ArgumentException or IOException)
        {
            throw new ArgumentException($"--calibration {data}: {e.Message.Split(" (Parameter")[0]}");
        }
        return new Int8Quantization { Calibration = images, Method = parsed };
    }

    /// <summary>"int8 (QDQ): 18 int8 convolutions, float32: output_block.conv3; percentile 99.999 calibration on 8 images (test-volume.tif[0] … test-volume.tif[29]), SHA-256 3f2a…".</summary>
    internal static string QuantizationSummary(Int8QuantizationReport q)
    {
        string method = q.Percentile is { } p ? string.Create(CultureInfo.InvariantCulture, $"percentile {p}") : "min-max";
        string names = q.ImageNames.Count <= 2 ? string.Join(", ", q.ImageNames) : $"{q.ImageNames[0]} ... {q.ImageNames[^1]}";
        return $"int8 (QDQ): {q.Int8Layers.Count} int8 convolutions, float32: {string.Join(", ", q.FloatLayers.DefaultIfEmpty("none"))}; " +
            $"{method} calibration on {q.ImageNames.Count} image(s) ({names}), SHA-256 {q.ImagesSha256[..12]}";
    }

    private static string Existing(FileInfo? file)
    {
        if (file is null) throw new ArgumentException("--checkpoint FILE is required");
        if (Directory.Exists(file.FullName)) throw new ArgumentException($"--checkpoint {file.FullName} is a folder, not a checkpoint file");
        if (!file.Exists) throw new FileNotFoundException($"--checkpoint {file.FullName} does not exist", file.FullName);
        return file.FullName;
    }

    private static string Writable(FileInfo? file, string flag)
    {
        if (file is null) throw new ArgumentException($"{flag} FILE is required");
        if (Directory.Exists(file.FullName)) throw new ArgumentException($"{flag} {file.FullName} is a folder; give the path of the file to write");
        string folder = Path.GetDirectoryName(file.FullName)!;
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"{flag} {file.FullName}: the folder {folder} does not exist");
        return file.FullName;
    }

    /// <summary>"wrote /m.onnx (138.1 MB, opset 17, IR 8): image [N, 1, H, W] -> probabilities, logits [N, 2, H', W']; H and W each one of 188, 204, 220, ... (every 16); 572 -> 388".</summary>
    internal static string Summary(OnnxExportResult result, UNetOptions options)
    {
        var sizes = options.ValidInputSizes(1, int.MaxValue).Take(3).ToList();
        string step = sizes.Count > 1 ? $" (every {sizes[1] - sizes[0]})" : "";
        return string.Create(CultureInfo.InvariantCulture,
            $"wrote {result.Path} ({result.Bytes / 1e6:F1} MB, opset {result.Opset}, IR {result.IrVersion}): " +
            $"image [N, {options.InputChannels}, H, W] -> probabilities, logits [N, {options.Classes}, H', W']; " +
            $"H and W each one of {string.Join(", ", sizes)}, ...{step}; {options.InputSize} -> {options.OutputSize(options.InputSize)}");
    }
}
