using System.CommandLine;
using UNet.Segmentation.Cli;

var root = new RootCommand("U-Net for EM segmentation (after NVIDIA UNet_Medical), on TorchSharp from .NET.");
root.Subcommands.Add(ShowBatchCommand.Create());
root.Subcommands.Add(ScoreCommand.Create());
root.Subcommands.Add(PredictCommand.Create());
root.Subcommands.Add(ExportCommand.Create());
root.Subcommands.Add(PlotCommand.Create());
RunCommand.Configure(root, args);
return root.Parse(args).Invoke();
