using System.Globalization;
using Spectre.Console;
using UNet.Segmentation.Training;

namespace UNet.Segmentation.Cli;

/// <summary>
/// The end-of-run table, made to fit 100 columns on a terminal and in a log: paths are shown
/// relative to the current folder when that is shorter, the metric line is split into rows, and
/// anything still too long wraps inside its cell.
/// </summary>
internal static class SummaryTable
{
    /// <summary>The widest the table is drawn, terminal or not.</summary>
    public const int Width = 100;

    public static void Write(IEnumerable<(string Key, string Value)> rows)
    {
        var table = new Table().AddColumn("").AddColumn("result");
        table.Columns[0].NoWrap();
        foreach (var (k, v) in rows) table.AddRow(Markup.Escape(k), Markup.Escape(v));
        // A terminal narrower than 100 columns keeps its width; a wider one or a pipe (Spectre's 80 there) gets 100.
        table.Width = Console.IsOutputRedirected ? Width : Math.Min(Width, AnsiConsole.Profile.Width);
        if (Console.IsOutputRedirected) AnsiConsole.Profile.Width = Math.Max(AnsiConsole.Profile.Width, Width);
        AnsiConsole.Write(table);
    }

    /// <summary><paramref name="path"/> relative to the current folder when that is shorter (not climbing out of it), else as given.</summary>
    public static string Shorten(string path)
    {
        string full = Path.GetFullPath(path);
        string relative = Path.GetRelativePath(Environment.CurrentDirectory, full);
        return relative.Length < full.Length && !relative.StartsWith("..", StringComparison.Ordinal) && !Path.IsPathRooted(relative) ? relative : full;
    }

    /// <summary>The metric line as rows of at most a few values each, the first under <paramref name="key"/>.</summary>
    public static IEnumerable<(string, string)> MetricRows(string key, SegmentationMetrics m)
    {
        var inv = CultureInfo.InvariantCulture;
        yield return (key, string.Create(inv, $"DICE {m.ReferenceDice:F4} | hard Dice {m.HardMeanDice:F4} [{string.Join(", ", m.HardDicePerClass.Select(d => d.ToString("F4", inv)))}]"));
        yield return ("", string.Create(inv, $"IoU {m.MeanIoU:F4} | accuracy {m.PixelAccuracy:F4} | CE {m.CrossEntropy:F4} ({m.Samples} samples)"));
    }
}
