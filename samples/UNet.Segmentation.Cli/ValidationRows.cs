using System.Globalization;
using UNet.Segmentation.Training;

namespace UNet.Segmentation.Cli;

/// <summary>The summary table's rows of a <see cref="ValidationReport"/> (the library writes metrics.json and the validation TIFFs).</summary>
internal static class ValidationRows
{
    public static IEnumerable<(string, string)> Of(ValidationReport report)
    {
        var inv = CultureInfo.InvariantCulture;
        if (report.MapDice is { } mapDice) yield return ("map Dice", string.Create(inv, $"{mapDice:F4} (the full-size maps at t 0.5, mean of both classes)"));
        if (report.Scores is { } scores)
        {
            yield return ("V_rand", string.Create(inv, $"{scores.VRand:F4} (best t {scores.BestRandThreshold:0.0}); {scores.VRandAt05:F4} at t 0.5"));
            yield return ("V_info", string.Create(inv, $"{scores.VInfo:F4} (best t {scores.BestInfoThreshold:0.0}); {scores.VInfoAt05:F4} at t 0.5"));
            if (scores.Thinned is { } thinned)
            {
                yield return ("V_rand (thinned)", string.Create(inv, $"{thinned.VRand:F4} (best t {thinned.BestRandThreshold:0.0}); {thinned.VRandAt05:F4} at t 0.5 (the challenge's official score)"));
                yield return ("V_info (thinned)", string.Create(inv, $"{thinned.VInfo:F4} (best t {thinned.BestInfoThreshold:0.0}); {thinned.VInfoAt05:F4} at t 0.5"));
            }
        }
        if (report is { ProbabilitiesPath: { } p, LabelsPath: { } l })
        {
            yield return ("validation maps", $"{SummaryTable.Shorten(p)}, {SummaryTable.Shorten(l)}");
            yield return ("score again", $"unet score --prediction {SummaryTable.Shorten(p)} --labels {SummaryTable.Shorten(l)}");
        }
        yield return ("metrics", SummaryTable.Shorten(report.MetricsPath));
    }
}
