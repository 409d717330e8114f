// Trains a tiny U-Net (4 filters, depth 2, dropout 0, no augmentation) on 8 synthetic slices and
// saves rank 0's final weights: the process the data-parallel tests start under mpirun (one per
// rank) or alone (no launcher: no MPI at all).
//   dp-worker --steps N --batch B --out weights.safetensors [--checkpoints DIR] [--resume] [--lr X]
// Prints "rank R of N: pid P" first. Exit codes: 0 done, 3 a DistributedException, 1 anything
// else; on an error under MPI it aborts the job, as an application should.
using System.Globalization;
using Microsoft.Extensions.Logging;
using TorchSharp;
using UNet.Segmentation.Data;
using UNet.Segmentation.Distributed;
using UNet.Segmentation.Distributed.Mpi;
using UNet.Segmentation.Model;
using UNet.Segmentation.Training;
using UNet.Segmentation.Training.Callbacks;

var a = args.Select((v, i) => (v, i)).Where(t => t.v.StartsWith("--", StringComparison.Ordinal))
    .ToDictionary(t => t.v, t => t.i + 1 < args.Length ? args[t.i + 1] : "");
long steps = long.Parse(a["--steps"], CultureInfo.InvariantCulture);
int batch = int.Parse(a["--batch"], CultureInfo.InvariantCulture);
string output = a["--out"];
double lr = a.TryGetValue("--lr", out var l) ? double.Parse(l, CultureInfo.InvariantCulture) : 1e-3;

var world = MpiWorld.IsLaunchedByMpi() ? MpiWorld.Initialize() : null;
Console.WriteLine($"rank {world?.Rank ?? 0} of {world?.Size ?? 1}: pid {Environment.ProcessId}");
torch.set_num_threads(1);
var data = IsbiDataset.Synthetic(new SyntheticEmOptions { Slices = 8, Size = 64, MeanCellDiameter = 16, MembraneWidthMin = 1, MembraneWidthMax = 3 });
var fold = new FoldSplit(0, Enumerable.Range(0, 8).ToArray(), []);
torch.manual_seed(7);
using var model = new UNetModel(UNetOptions.Reference with { BaseFilters = 4, Depth = 2, InputSize = 92, DropoutRate = 0 });
var builder = Trainer.For(model)
    .WithData(DataOptions.Reference with { InputSize = 92, OutputSize = 52, Augment = false })
    .WithSteps(steps, batch).WithAdam(lr).WithSeed(3)
    .WithLogging(logEvery: 1)
    .WithLogger(new LineLogger());
if (a.TryGetValue("--checkpoints", out var dir)) builder = builder.WithCheckpoints(dir, every: 1, keepLast: 2);
if (world is not null) builder = builder.WithDataParallel(world);
// --callbacks: one callback on every rank and one on rank 0 only, each printing the steps it sees.
if (a.ContainsKey("--callbacks")) builder = builder.WithCallback(new StepPrinter(true)).WithCallback(new StepPrinter(false));
int code;
try
{
    using var trainer = builder.Build();
    var result = trainer.Fit(data, fold, resume: a.ContainsKey("--resume"));
    if (trainer.IsMainRank) model.Save(output);
    Console.WriteLine($"rank {trainer.Rank}: done after {result.Steps} steps");
    code = 0;
}
catch (Exception e)
{
    code = e is DistributedException ? 3 : 1;
    Console.Error.WriteLine($"{e.GetType().Name}: {e.Message}");
    if (world is { Size: > 1 }) world.Abort(code);
}
world?.Dispose();
return code;

internal sealed class StepPrinter(bool everyRank) : ITrainingCallback
{
    public bool OnEveryRank => everyRank;
    public void OnStepEnd(TrainingContext context, TrainingStep step) =>
        Console.WriteLine($"{(everyRank ? "every-rank" : "main-rank")} callback on rank {context.Rank}: step {step.Step}");
}

internal sealed class LineLogger : ILogger
{
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
    public bool IsEnabled(LogLevel logLevel) => true;
    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Console.WriteLine(formatter(state, exception));
}
