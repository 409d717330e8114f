using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace PlainTorchSharp;

/// <summary>
/// <c>--model nnunet</c>: the 3-D nnU-Net (<see cref="NnUNet"/>) at a cubic patch with 4 channels
/// and 4 classes, timed as benchmarks/side-by-side/peer_nnunet_step.py times the PyTorch peer. One
/// training step = zero grads, the forward pass with the heads, Dice + cross-entropy of each output
/// against the full-size labels weighted 0.5^i, backward, Adam (lr 1e-4, eps 1e-7); one inference
/// step = forward without the heads in inference mode + softmax. One dispose scope per step.
/// </summary>
public static class NnUNetSteps
{
    private const int Channels = 4, Classes = 4;

    public static Dictionary<string, object> Run(Options o, Device device)
    {
        using var model = new NnUNet(o.Size, o.Filters, Channels, Classes).to(device);
        long parameters = model.parameters().Sum(p => p.numel());
        var times = new List<double>();
        using var x = torch.randn([o.Batch, Channels, o.Size, o.Size, o.Size], device: device);
        if (o.Mode == "train")
        {
            model.train();
            using var labels = torch.randint(0, Classes, [o.Batch, o.Size, o.Size, o.Size], device: device);
            using var adam = torch.optim.Adam(model.parameters(), lr: 1e-4, eps: 1e-7);
            for (int i = 0; i < o.Warmup + o.Steps; i++)
            {
                long start = Stopwatch.GetTimestamp();
                using (var scope = torch.NewDisposeScope())
                {
                    adam.zero_grad();
                    var outputs = model.ForwardWithHeads(x);
                    var loss = DeepSupervisionLoss(outputs, labels);
                    loss.backward();
                    adam.step();
                    loss.item<float>();
                }
                times.Add(Stopwatch.GetElapsedTime(start).TotalSeconds);
            }
        }
        else
        {
            model.eval();
            using var inference = torch.inference_mode();
            for (int i = 0; i < o.Warmup + o.Steps; i++)
            {
                long start = Stopwatch.GetTimestamp();
                using (var scope = torch.NewDisposeScope())
                    model.forward(x).softmax(1).sum().item<float>();
                times.Add(Stopwatch.GetElapsedTime(start).TotalSeconds);
            }
        }
        var measured = times.Skip(o.Warmup).ToArray();
        return new Dictionary<string, object>
        {
            ["impl"] = "torchsharp", ["model"] = "nnunet", ["version"] = Program.TorchSharpVersion(), ["mode"] = o.Mode, ["batch"] = o.Batch,
            ["precision"] = o.Precision, ["format"] = o.Format, ["device"] = device.ToString(), ["filters"] = o.Filters,
            ["size"] = o.Size, ["threads"] = torch.get_num_threads(), ["parameters"] = parameters, ["step_seconds"] = measured,
            ["images_per_second"] = measured.Average(t => o.Batch / t),
            ["peak_rss_mib"] = Program.ProcStatusMib("VmHWM:"),
        };
    }

    /// <summary>Σ_i 0.5^i (Dice + cross-entropy)(outputs[:, i]) / Σ_i 0.5^i.</summary>
    private static Tensor DeepSupervisionLoss(Tensor outputs, Tensor labels)
    {
        Tensor total = torch.zeros(1, device: outputs.device);
        double weights = 0;
        for (int i = 0; i < outputs.shape[1]; i++)
        {
            double w = Math.Pow(0.5, i);
            total = total + w * DiceCrossEntropy(outputs.select(1, i), labels);
            weights += w;
        }
        return total / weights;
    }

    /// <summary>
    /// Cross-entropy (voxel mean) + 1 − soft Dice per foreground class, its sums over the batch
    /// and the voxels: (2·Σ p·t + 1e-5) / (Σ t + Σ p + 1e-5), averaged over the classes.
    /// </summary>
    private static Tensor DiceCrossEntropy(Tensor logits, Tensor labels)
    {
        var p = logits.softmax(1).narrow(1, 1, Classes - 1);
        var t = F.one_hot(labels, Classes).permute(0, 4, 1, 2, 3).narrow(1, 1, Classes - 1).to(ScalarType.Float32);
        long[] sum = [0, 2, 3, 4];
        var dice = (2 * (p * t).sum(sum) + 1e-5) / (t.sum(sum) + p.sum(sum) + 1e-5);
        return F.cross_entropy(logits, labels) + (1 - dice).mean();
    }
}
