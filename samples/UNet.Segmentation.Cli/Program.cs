using System.CommandLine;
using UNet.Segmentation.Cli;

var root = new RootCommand("U-Net for EM segmentation (after NVIDIA UNet_Medical), on TorchSharp from .NET.");
root.Subcommands.Add(ShowBatchCommand.Create());
root.Subcommands.Add(ScoreCommand.Create());
root.Subcommands.Add(PredictCommand.Create(args));
root.Subcommands.Add(ExportCommand.Create());
root.Subcommands.Add(PlotCommand.Create());
RunCommand.Configure(root, args);
var parse = root.Parse(args);
// A flag value that does not parse (--max-steps x) is one line and exit code 2, as the CLI's other user errors.
if (parse.Errors.Count > 0 && !args.Any(a => a is "--help" or "-h" or "-?"))
{
    Console.Error.WriteLine($"error: {string.Join("; ", parse.Errors.Select(e => e.Message))}");
    return 2;
}
return parse.Invoke();
