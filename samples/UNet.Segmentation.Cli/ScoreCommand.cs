using System.CommandLine;
using System.Text;
using System.Text.Json;
using UNet.Segmentation.Imaging;
using UNet.Segmentation.Inference;
using UNet.Segmentation.Scoring;

namespace UNet.Segmentation.Cli;

/// <summary>
/// <c>unet score --prediction P.tif --labels L.tif</c>: the ISBI 2012 challenge's V_rand and V_info
/// of a float32 probability map against 8-bit labels, without and after border thinning
/// (<see cref="ChallengeScoreReport.Thinned"/>), as one JSON line.
/// </summary>
internal static class ScoreCommand
{
    public static Command Create()
    {
        var prediction = new Option<FileInfo?>("--prediction") { Description = "float32 probability TIFF (1 = non-membrane), as unet predict writes; one page per slice" };
        var labels = new Option<FileInfo?>("--labels") { Description = "8-bit label TIFF of the same slices (0 = membrane, 255 = interior)" };
        var minSegment = new Option<int?>("--min-segment-pixels")
        {
            Description = "first remove the interior segments (4-connected, probability >= 0.5) of fewer pixels: they become membrane (SmallSegmentRemoval)",
        };
        var command = new Command("score",
            "Print the ISBI 2012 challenge's scores of a probability map as one JSON line: the best V_rand and V_info over thresholds 0.1..0.9 (with their thresholds) and both at 0.5, "
            + "then the official scores after border thinning, as the challenge's Fiji evaluation computes them (the _thinned keys: the best over thresholds 0.0..1.0 by 0.1, their thresholds, both at 0.5).")
        {
            prediction, labels, minSegment,
        };
        command.SetAction(parse => CliErrors.Guard(() =>
        {
            var (p, pPath) = Read(parse.GetValue(prediction), "--prediction");
            var (l, lPath) = Read(parse.GetValue(labels), "--labels");
            if (p.SampleFormat != TiffSampleFormat.Float32)
                throw new ArgumentException($"--prediction {pPath} holds {p.SampleFormat} samples; the scores need a float32 probability map (1 = non-membrane), as unet predict writes");
            if (l.SampleFormat != TiffSampleFormat.UInt8)
                throw new ArgumentException($"--labels {lPath} holds {l.SampleFormat} samples; the scores need 8-bit labels (0 = membrane, 255 = interior)");
            if (p.PageCount != l.PageCount || p.Width != l.Width || p.Height != l.Height)
                throw new ArgumentException(
                    $"--prediction {pPath} has {p.PageCount} page(s) of {p.Width}x{p.Height} but --labels {lPath} has {l.PageCount} of {l.Width}x{l.Height}");

            if (parse.GetValue(minSegment) is { } min)
            {
                var removal = new SmallSegmentRemoval(min);
                if (removal.Validate() is { Count: > 0 }) throw new ArgumentException($"--min-segment-pixels must be at least 1 (got {min})");
                var maps = p.GetFloat32();
                int area = p.Height * p.Width;
                for (int page = 0; page < p.PageCount; page++) removal.Apply(maps.AsSpan(page * area, area), p.Height, p.Width);
            }
            ChallengeScoreReport report;
            try
            {
                report = ChallengeScores.Compute(p, l);
            }
            catch (ArgumentException e) when (e.ParamName is "probabilities" or "labels")
            {
                // The library names its argument; the user knows the file.
                string file = e.ParamName == "probabilities" ? $"--prediction {pPath}" : $"--labels {lPath}";
                throw new ArgumentException($"{file}: {e.Message.Replace($" (Parameter '{e.ParamName}')", "", StringComparison.Ordinal)}");
            }
            Console.WriteLine(Json(report));
            return 0;
        }));
        return command;
    }

    private static (TiffVolume Volume, string Path) Read(FileInfo? file, string flag)
    {
        if (file is null) throw new ArgumentException($"{flag} FILE is required");
        if (Directory.Exists(file.FullName)) throw new ArgumentException($"{flag} {file.FullName} is a folder, not a TIFF file");
        if (!file.Exists) throw new FileNotFoundException($"{flag} {file.FullName} does not exist", file.FullName);
        return (Tiff.Read(file.FullName), file.FullName);
    }

    /// <summary>The report as one JSON object: round-trip doubles, invariant formatting.</summary>
    internal static string Json(ChallengeScoreReport report)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("v_rand", report.VRand);
            json.WriteNumber("v_info", report.VInfo);
            json.WriteNumber("v_rand_at_0.5", report.VRandAt05);
            json.WriteNumber("v_info_at_0.5", report.VInfoAt05);
            json.WriteNumber("v_rand_threshold", report.BestRandThreshold);
            json.WriteNumber("v_info_threshold", report.BestInfoThreshold);
            // The official scores after border thinning; null when a page has no interior label.
            var thinned = report.Thinned;
            WriteOrNull(json, "v_rand_thinned", thinned?.VRand);
            WriteOrNull(json, "v_info_thinned", thinned?.VInfo);
            WriteOrNull(json, "v_rand_thinned_at_0.5", thinned?.VRandAt05);
            WriteOrNull(json, "v_info_thinned_at_0.5", thinned?.VInfoAt05);
            WriteOrNull(json, "v_rand_thinned_threshold", thinned?.BestRandThreshold);
            WriteOrNull(json, "v_info_thinned_threshold", thinned?.BestInfoThreshold);
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void WriteOrNull(Utf8JsonWriter json, string key, double? value)
    {
        if (value is { } v) json.WriteNumber(key, v);
        else json.WriteNull(key);
    }
}
