using System.CommandLine;
using System.Globalization;
using UNet.Segmentation.Export;
using UNet.Segmentation.Model;

namespace UNet.Segmentation.Cli;

/// <summary>
/// <c>unet export --checkpoint C --onnx model.onnx [--opset 17]</c>: the checkpoint's model as an
/// ONNX file for inference (docs/onnx.md), and one line saying what was written; with
/// <c>--weights W.safetensors</c> also the model alone (a training checkpoint less its optimizer
/// state: a third of the size), as <see cref="UNetModel.Save(string)"/> writes it.
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
        var command = new Command("export",
            "Write a checkpoint's model as an ONNX file for inference: input 'image' N x C x H x W, outputs 'probabilities' and 'logits'; batch, height and width dynamic.")
        {
            checkpoint, onnx, opset, weights,
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
            using var model = UNetModel.Load(source);
            OnnxExportResult result;
            try
            {
                result = OnnxExport.Save(model, target, new OnnxExportOptions { Opset = version });
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new ArgumentException($"--onnx {target} could not be written: {e.Message}");
            }
            Console.WriteLine(Summary(result, model.Options));
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
