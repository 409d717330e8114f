using System.Diagnostics;
using TorchSharp;
using UNet.Segmentation.Model.Precision;
using static TorchSharp.torch;

namespace UNet.Segmentation.Benchmarks.Profiling;

/// <summary>
/// The timing loops of the profile (CPU; libtorch's CPU kernels return when done): an operator's
/// forward and backward, and the optimizer's parts. Each is run <c>warmup + steps</c> times on
/// fresh inputs; the median of the timed calls is kept, so one disturbed call moves nothing.
/// </summary>
public static class OpTimer
{
    /// <summary>Median milliseconds of one forward and one backward call of <paramref name="op"/> (backward 0 when it has none).</summary>
    public static (double Forward, double Backward) Time(ProfiledOp op, int warmup, int steps)
    {
        ArgumentNullException.ThrowIfNull(op);
        var forward = new List<double>();
        var backward = new List<double>();
        for (int i = 0; i < warmup + steps; i++)
        {
            using var scope = NewDisposeScope();
            var (args, targets) = op.Prepare();
            long start = Stopwatch.GetTimestamp();
            var y = op.Forward(args);
            double f = Stopwatch.GetElapsedTime(start).TotalMilliseconds, b = 0;
            if (targets.Length > 0)
            {
                var upstream = ones_like(y);
                start = Stopwatch.GetTimestamp();
                torch.autograd.grad([y], targets, [upstream]);
                b = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }
            if (i < warmup) continue;
            forward.Add(f);
            backward.Add(b);
        }
        return (Median(forward), Median(backward));
    }

    /// <summary>
    /// Median milliseconds of the optimizer's parts of a training step, in the step's order:
    /// <c>zero_grad</c>; then, after gradients are put where the backward leaves them (not timed),
    /// the working copy's gradients cast into the master's (mixed precision only), the Adam step
    /// on the master, and the copy's refresh.
    /// </summary>
    public static Dictionary<string, double> Optimizer(nn.Module master, optim.Optimizer adam, MixedPrecisionModel? mixed, int warmup, int steps)
    {
        ArgumentNullException.ThrowIfNull(master);
        ArgumentNullException.ThrowIfNull(adam);
        var parts = new Dictionary<string, List<double>>();
        void Timed(string name, Action action)
        {
            long start = Stopwatch.GetTimestamp();
            action();
            if (!parts.TryGetValue(name, out var list)) parts[name] = list = [];
            list.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
        for (int i = 0; i < warmup + steps; i++)
        {
            using var scope = NewDisposeScope();
            Timed("zero_grad", () => adam.zero_grad());
            using (no_grad())
                foreach (var p in (mixed?.WorkingModule ?? master).parameters())
                {
                    if (p.grad is { } g) g.fill_(1);
                    else p.grad = ones_like(p);
                }
            if (mixed is not null) Timed("gradients to master", () => mixed.GradientsToMaster());
            Timed("Adam step", () => adam.step());
            if (mixed is not null) Timed("refresh working copy", () => mixed.Refresh());
            if (i < warmup) foreach (var list in parts.Values) list.RemoveAt(list.Count - 1);
        }
        return parts.ToDictionary(p => p.Key, p => Median(p.Value));
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        int n = sorted.Length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
}
