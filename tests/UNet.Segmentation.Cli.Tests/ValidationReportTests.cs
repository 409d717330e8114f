using System.Text.Json;

namespace UNet.Segmentation.Cli.Tests;

/// <summary>train_and_evaluate leaves metrics.json with the challenge's scores and the validation maps that reproduce them.</summary>
public sealed class ValidationReportTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("unet-cli-validation-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void TrainAndEvaluate_WritesTheScoresBesideDice_AndMapsThatUnetScoreReproduces()
    {
        var (code, output) = CliProcess.Run("--exec-mode", "train_and_evaluate", "--max-steps", "4", "--filters", "4", "--model-dir", _dir, "--tiled", "--overlap", "0.25");
        Assert.True(code == 0, output);
        Assert.Matches(@"V_rand +│ \d\.\d{4} \(best t 0\.\d\); \d\.\d{4} at t 0\.5", output);
        Assert.Matches(@"V_info +│ \d\.\d{4} \(best t 0\.\d\)", output);
        Assert.Matches(@"V_rand \(thinned\) +│ \d\.\d{4} \(best t [01]\.\d\); \d\.\d{4} at t 0\.5", output);
        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(_dir, "metrics.json")));
        var root = metrics.RootElement;
        Assert.Equal(4, root.GetProperty("steps").GetInt64());
        Assert.Equal(6, root.GetProperty("validation_items").GetArrayLength());
        Assert.Equal(2, root.GetProperty("hard_dice_per_class").GetArrayLength());
        Assert.InRange(root.GetProperty("dice").GetDouble(), 0, 1);
        Assert.InRange(root.GetProperty("map_dice").GetDouble(), 1e-6, 1);
        Assert.Matches(@"map Dice +│ \d\.\d{4} \(the full-size maps at t 0\.5", output);
        double vRand = root.GetProperty("v_rand").GetDouble(), vInfo = root.GetProperty("v_info").GetDouble();
        Assert.InRange(vRand, 1e-6, 1);
        Assert.InRange(vInfo, 1e-6, 1);
        Assert.Equal("OverlapTile", root.GetProperty("predictor").GetProperty("input").GetString());
        Assert.Equal(0.25, root.GetProperty("predictor").GetProperty("overlap").GetDouble());

        // The map Dice, recounted here from the written maps: mean over membrane and interior of 2|A∩B| / (|A| + |B|) at t 0.5.
        var p = UNet.Segmentation.Imaging.Tiff.Read(root.GetProperty("validation_probabilities").GetString()!).GetFloat32();
        var l = UNet.Segmentation.Imaging.Tiff.Read(root.GetProperty("validation_labels").GetString()!).GetUInt8();
        double Dice(Func<int, bool> predicted, Func<int, bool> actual)
        {
            long both = 0, a = 0, b = 0;
            for (int i = 0; i < l.Length; i++) { if (predicted(i)) a++; if (actual(i)) b++; if (predicted(i) && actual(i)) both++; }
            return 2.0 * both / (a + b);
        }
        double expected = (Dice(i => p[i] > 0.5f, i => l[i] > 127) + Dice(i => !(p[i] > 0.5f), i => l[i] <= 127)) / 2;
        Assert.Equal(expected, root.GetProperty("map_dice").GetDouble(), 12);

        var (scoreCode, scored) = CliProcess.Run("score", "--prediction", root.GetProperty("validation_probabilities").GetString()!,
            "--labels", root.GetProperty("validation_labels").GetString()!);
        Assert.True(scoreCode == 0, scored);
        using var again = JsonDocument.Parse(scored);
        Assert.Equal(vRand, again.RootElement.GetProperty("v_rand").GetDouble());
        Assert.Equal(vInfo, again.RootElement.GetProperty("v_info").GetDouble());
        foreach (string key in new[] { "v_rand_thinned", "v_info_thinned", "v_rand_thinned_at_0.5", "v_info_thinned_at_0.5", "v_rand_thinned_threshold", "v_info_thinned_threshold" })
        {
            Assert.InRange(root.GetProperty(key).GetDouble(), 0, 1);
            Assert.Equal(root.GetProperty(key).GetDouble(), again.RootElement.GetProperty(key).GetDouble());
        }
    }

    [Fact]
    public void ABadOverlapIsOneLineBeforeAnythingRuns()
    {
        var (code, output) = CliProcess.Run("--exec-mode", "train", "--max-steps", "4", "--filters", "4", "--model-dir", _dir, "--tiled", "--overlap", "1");
        Assert.Equal(2, code);
        Assert.Equal("error: --overlap must lie in [0, 1) (got 1)", output.Trim());
        Assert.False(Directory.Exists(Path.Combine(_dir, "checkpoints")));
    }
}
