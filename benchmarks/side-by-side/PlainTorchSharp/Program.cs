using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace PlainTorchSharp;

/// <summary>
/// The side-by-side benchmark's middle runner: NVIDIA UNet_Medical's U-Net (tests/peer/unet_peer.py)
/// written plainly in TorchSharp, timed exactly as benchmarks/side-by-side/peer_step.py times the
/// PyTorch peer. One training step = zero grads, forward, cross-entropy + soft Dice, backward, Adam
/// (lr 1e-4, eps 1e-7); one inference step = forward in inference mode + softmax. Each step ends
/// with a number read back and runs in its own dispose scope. Prints one JSON line.
///
/// With <c>--model nnunet</c> it times the 3-D nnU-Net instead (<see cref="NnUNetSteps"/>;
/// filters 32 and size 128, the BraTS patch, unless given).
///
/// usage: dotnet PlainTorchSharp.dll --mode train|infer [--model unet|nnunet] [--batch N] [--precision fp32]
///        [--format contiguous] [--filters F] [--size S] [--warmup W] [--steps N] [--threads T]
///        [--device cpu] [--seed S]
/// Only fp32 and contiguous: the plain form has no mixed precision and no channels-last (exit 2).
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        Options o;
        try { o = Options.Parse(args); }
        catch (ArgumentException e) { Console.Error.WriteLine($"PlainTorchSharp: {e.Message}"); return 2; }

        torch.set_num_threads(o.Threads);
        torch.manual_seed(o.Seed);
        var device = torch.device(o.Device);
        if (o.Model == "nnunet")
        {
            Dictionary<string, object> nnunet;
            try { nnunet = NnUNetSteps.Run(o, device); }
            catch (ArgumentException e) { Console.Error.WriteLine($"PlainTorchSharp: {e.Message}"); return 2; }
            Console.WriteLine(JsonSerializer.Serialize(nnunet));
            return 0;
        }
        using var model = new UNet(o.Filters, inputChannels: 1, classes: 2, dropout: 0.5).to(device);
        long parameters = model.parameters().Sum(p => p.numel());
        var times = new List<double>();
        long[] outputShape;

        using var x = torch.randn(o.Batch, 1, o.Size, o.Size, device: device);
        if (o.Mode == "train")
        {
            model.train();
            long outSize = OutputSize(o.Size, 4);
            using var classes = torch.randint(0, 2, [o.Batch, outSize, outSize], device: device);
            using var adam = torch.optim.Adam(model.parameters(), lr: 1e-4, eps: 1e-7);
            outputShape = [];
            for (int i = 0; i < o.Warmup + o.Steps; i++)
            {
                long start = Stopwatch.GetTimestamp();
                using (var scope = torch.NewDisposeScope())
                {
                    adam.zero_grad();
                    var logits = model.forward(x);
                    var onehot = F.one_hot(classes, 2).permute(0, 3, 1, 2).to(ScalarType.Float32);
                    var loss = F.cross_entropy(logits, classes) + DiceLoss(logits, onehot);
                    loss.backward();
                    adam.step();
                    loss.item<float>();
                    outputShape = logits.shape;
                }
                times.Add(Stopwatch.GetElapsedTime(start).TotalSeconds);
            }
        }
        else
        {
            model.eval();
            outputShape = [];
            using (torch.inference_mode())
            {
                for (int i = 0; i < o.Warmup + o.Steps; i++)
                {
                    long start = Stopwatch.GetTimestamp();
                    using (var scope = torch.NewDisposeScope())
                    {
                        var logits = model.forward(x);
                        logits.softmax(1).sum().item<float>();
                        outputShape = logits.shape;
                    }
                    times.Add(Stopwatch.GetElapsedTime(start).TotalSeconds);
                }
            }
        }

        var measured = times.Skip(o.Warmup).ToArray();
        var result = new Dictionary<string, object>
        {
            ["impl"] = "torchsharp", ["version"] = TorchSharpVersion(), ["mode"] = o.Mode, ["batch"] = o.Batch,
            ["precision"] = o.Precision, ["format"] = o.Format, ["device"] = device.ToString(), ["filters"] = o.Filters,
            ["size"] = o.Size, ["threads"] = torch.get_num_threads(), ["parameters"] = parameters,
            ["output_shape"] = outputShape, ["step_seconds"] = measured,
            ["images_per_second"] = measured.Average(t => o.Batch / t),
            ["peak_rss_mib"] = ProcStatusMib("VmHWM:"),
        };
        Console.WriteLine(JsonSerializer.Serialize(result));
        return 0;
    }

    /// <summary>
    /// The reference's soft V-Net Dice loss (tests/peer/losses_peer.py): per sample and class
    /// (2·Σ p·t + 1e-6) / (Σ p² + t² + 1e-6) over the pixels, averaged over the batch; the loss is
    /// the mean over classes of 1 − Dice.
    /// </summary>
    private static Tensor DiceLoss(Tensor logits, Tensor onehot)
    {
        const double eps = 1e-6;
        var p = logits.softmax(1);
        var intersection = (p * onehot).sum([2, 3]);
        var union = (p * p + onehot * onehot).sum([2, 3]);
        var dice = ((2.0 * intersection + eps) / (union + eps)).mean([0]);
        return (1.0 - dice).mean();
    }

    /// <summary>Valid padding: two 3×3 convs take 4 pixels per level, pooling halves, up-convs double.</summary>
    private static long OutputSize(long size, int depth)
    {
        for (int i = 0; i < depth; i++) size = (size - 4) / 2;
        size -= 4;
        for (int i = 0; i < depth; i++) size = 2 * size - 4;
        return size;
    }

    internal static string TorchSharpVersion() =>
        typeof(torch).Assembly.GetName().Version?.ToString(3) ?? "unknown";

    /// <summary>A kB field of /proc/self/status in MiB (VmHWM: peak resident set); 0 where /proc is missing.</summary>
    internal static double ProcStatusMib(string field)
    {
        const string path = "/proc/self/status";
        if (!File.Exists(path)) return 0;
        foreach (string line in File.ReadLines(path))
            if (line.StartsWith(field, StringComparison.Ordinal))
                return long.Parse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024.0;
        return 0;
    }
}
