using System.Diagnostics;
using UNet.Segmentation.Torch;
using UNet.Segmentation.Torch.NN;
using UNet.Segmentation.Torch.Optim;
using UNet.Segmentation.Torch.Serialization;

// Usage: Quickstart [--steps N] [--out DIR] [--seed S]
var options = ParseArguments(args);
if (options is null) return 2;
var (steps, outDir, seed) = options.Value;

Console.WriteLine($"libtorch {LibTorch.Version}, {LibTorch.Threads} threads, CUDA available: {Cuda.IsAvailable}");
LibTorch.ManualSeed((ulong)seed);
var random = new Random(seed);
Directory.CreateDirectory(outDir);
string weightsPath = Path.Combine(outDir, "quickstart.safetensors");

static Sequential NewModel() => new(
    new Conv2d(1, 16, 3, padding: 1), new ReLU(),
    new Conv2d(16, 16, 3, padding: 1), new ReLU(),
    new Conv2d(16, 2, 1));

// Train.
using (var model = NewModel())
using (var adam = new Adam(model.Parameters(), learningRate: 3e-3))
{
    var clock = Stopwatch.StartNew();
    for (int step = 1; step <= steps; step++)
    {
        using var scope = TensorScope.Begin();
        var (x, y) = SyntheticCells.Batch(random, 8, 48);
        adam.ZeroGrad();
        var loss = Functional.CrossEntropy(model.Forward(x), y);
        loss.Backward();
        adam.Step();
        if (step % 25 == 0 || step == 1)
            Console.WriteLine($"step {step,4}  loss {loss.ToDouble():F4}  {step * 8 / clock.Elapsed.TotalSeconds:F1} images/s");
    }
    Safetensors.Save(weightsPath, model.StateDict(), new Dictionary<string, string> { ["model"] = "quickstart-3conv" });
    Console.WriteLine($"saved {weightsPath}");
}

// Reload into a fresh model and predict on unseen images.
using (var model = NewModel())
using (var file = Safetensors.Load(weightsPath))
{
    model.LoadStateDict(file.Tensors);
    model.Eval();
    using var scope = TensorScope.Begin();
    using var inference = Autograd.InferenceMode();
    var (x, y) = SyntheticCells.Batch(random, 16, 48);
    var predicted = model.Forward(x).ArgMax(1);
    double accuracy = predicted.Eq(y).To(ScalarType.Float32).Mean().ToDouble();
    var hit = predicted.Mul(y).Sum().ToDouble();
    double dice = 2 * hit / (predicted.Sum().ToDouble() + y.Sum().ToDouble());
    Console.WriteLine($"prediction on 16 unseen images: pixel accuracy {accuracy:P1}, foreground Dice {dice:F3}");
}
return 0;

static (int Steps, string OutDir, int Seed)? ParseArguments(string[] args)
{
    int steps = 200, seed = 0;
    string outDir = Path.Combine("artifacts", "quickstart");
    for (int i = 0; i < args.Length; i++)
    {
        string? Next() => i + 1 < args.Length ? args[++i] : null;
        switch (args[i])
        {
            case "--steps" when int.TryParse(Next(), out steps) && steps > 0: break;
            case "--seed" when int.TryParse(Next(), out seed): break;
            case "--out" when Next() is { } d: outDir = d; break;
            default:
                Console.Error.WriteLine("usage: Quickstart [--steps N>0] [--out DIR] [--seed S]");
                return null;
        }
    }
    return (steps, outDir, seed);
}
