using BenchmarkDotNet.Running;
using UNet.Segmentation.Benchmarks.SideBySide;
using UNet.Segmentation.Benchmarks.Volumes;

// "step" and "conv-rate" are the worker commands of benchmarks/side-by-side/run.py, "upconv" the
// up-convolution comparison (StepCommand), "engines" TorchSharp against ONNX Runtime
// (EnginesCommand), "loop" the training loop with and without every built-in callback
// (LoopCommand), "synthetic-volume" a large synthetic EM stack for the streaming-prediction
// measurements (SyntheticVolumeCommand), "profile" a step operator by operator (ProfileCommand); anything else goes to BenchmarkDotNet (e.g. --filter '*Inference*').
if (args.Length > 0 && args[0] == "loop")
    return LoopCommand.Run(args[1..]);
if (args.Length > 0 && args[0] == "synthetic-volume")
    return SyntheticVolumeCommand.Run(args[1..]);
if (args.Length > 0 && args[0] == "profile")
    return UNet.Segmentation.Benchmarks.Profiling.ProfileCommand.Run(args[1..]);
if (args.Length > 0 && args[0] == "engines")
    return EnginesCommand.Run(args[1..]);
if (args.Length > 0 && StepCommand.Commands.Contains(args[0]))
    return StepCommand.Run(args[0], args[1..]);
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
