using System.Globalization;
using System.Text;

namespace UNet.Segmentation.Benchmarks.Profiling;

/// <summary>One line of the profile: an operator at one shape, its count and its totals over the step.</summary>
/// <param name="Op">The operator and shape.</param>
/// <param name="Kind">Its kind, for the per-kind totals.</param>
/// <param name="Count">Times per step.</param>
/// <param name="ForwardMs">Milliseconds of all its forward calls (for the optimizer's parts: of the call).</param>
/// <param name="BackwardMs">Milliseconds of all its backward calls.</param>
/// <param name="Flops">Floating-point operations of all its calls, forward and backward (convolutions only).</param>
public sealed record ProfileRow(string Op, string Kind, int Count, double ForwardMs, double BackwardMs, double Flops)
{
    /// <summary>Forward and backward.</summary>
    public double TotalMs => ForwardMs + BackwardMs;
}

/// <summary>The profile as markdown: the operators by time, the totals per kind, and the sum of the parts beside the measured whole step.</summary>
public static class ProfileReport
{
    /// <summary>Formats <paramref name="rows"/> against the whole step's <paramref name="stepMs"/> (and its phases when training).</summary>
    public static string Markdown(IReadOnlyList<ProfileRow> rows, double stepMs, double[] phaseMs)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(phaseMs);
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine("| op | count | fwd ms | bwd ms | GFLOP | GFLOP/s | share of step |");
        sb.AppendLine("|---|---|---|---|---|---|---|");
        foreach (var r in rows.OrderByDescending(r => r.TotalMs))
            sb.AppendLine(c, $"| {r.Op} | {r.Count} | {r.ForwardMs:F1} | {(r.BackwardMs > 0 ? r.BackwardMs.ToString("F1", c) : "—")} | {Gflop(r, c)} | {Rate(r, c)} | {100 * r.TotalMs / stepMs:F1} % |");
        sb.AppendLine();
        sb.AppendLine("| kind | count | fwd ms | bwd ms | GFLOP | GFLOP/s | share of step |");
        sb.AppendLine("|---|---|---|---|---|---|---|");
        var kinds = rows.GroupBy(r => r.Kind)
            .Select(g => new ProfileRow(g.Key, g.Key, g.Sum(r => r.Count), g.Sum(r => r.ForwardMs), g.Sum(r => r.BackwardMs), g.Sum(r => r.Flops)));
        foreach (var r in kinds.OrderByDescending(r => r.TotalMs))
            sb.AppendLine(c, $"| {r.Op} | {r.Count} | {r.ForwardMs:F1} | {(r.BackwardMs > 0 ? r.BackwardMs.ToString("F1", c) : "—")} | {Gflop(r, c)} | {Rate(r, c)} | {100 * r.TotalMs / stepMs:F1} % |");
        sb.AppendLine();
        double forward = rows.Where(r => r.Kind != "optimizer").Sum(r => r.ForwardMs);
        double backward = rows.Sum(r => r.BackwardMs);
        double optimizer = rows.Where(r => r.Kind == "optimizer").Sum(r => r.ForwardMs);
        double parts = rows.Sum(r => r.TotalMs);
        if (phaseMs.Length == 3)
            sb.AppendLine(c, $"sum of parts {parts:F0} ms (forward {forward:F0}, backward {backward:F0}, optimizer {optimizer:F0}); whole step {stepMs:F0} ms (forward and loss {phaseMs[0]:F0}, backward {phaseMs[1]:F0}, optimizer {phaseMs[2]:F0})");
        else
            sb.AppendLine(c, $"sum of parts {parts:F0} ms; whole step {stepMs:F0} ms");
        return sb.ToString();
    }

    private static string Gflop(ProfileRow r, IFormatProvider c) => r.Flops > 0 ? (r.Flops / 1e9).ToString("F1", c) : "—";

    private static string Rate(ProfileRow r, IFormatProvider c) => r.Flops > 0 ? (r.Flops / 1e9 / (r.TotalMs / 1000)).ToString("F0", c) : "—";
}
